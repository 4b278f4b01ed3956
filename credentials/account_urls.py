"""Sign-in, sign-out and password pages. Names match what django.contrib.auth reverses."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import forms, preferences, views
from .tokens import password_tokens

urlpatterns = [
    path("invitation/<uidb64>/<token>/", views.invitation_accept, name="invitation_accept"),
    path("licence/", views.licence, name="licence"),
    path("sign-up/", views.sign_up, name="sign_up"),
    path("sign-up/sent/", views.sign_up_sent, name="sign_up_sent"),
    path("sign-up/confirm/<uidb64>/<token>/", views.sign_up_confirm, name="sign_up_confirm"),
    path("profile/", views.account_profile, name="account_profile"),
    path("preferences/", preferences.preferences, name="account_preferences"),
    path("language/", preferences.set_language, name="set_language"),
    path("profile/addresses/", views.address_add, name="address_add"),
    path("profile/addresses/<int:pk>/remove/", views.address_remove, name="address_remove"),
    path("address/confirm/<str:token>/", views.address_confirm, name="address_confirm"),
    path("email/confirm/<str:token>/", views.email_change_confirm, name="email_change_confirm"),
    path("email/cancel/<str:token>/", views.email_change_cancel, name="email_change_cancel"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("sign-in/<slug:slug>/", views.oidc_start, name="oidc_start"),
    path("sign-in/<slug:slug>/callback/", views.oidc_callback, name="oidc_callback"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(form_class=forms.ChangePasswordForm),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "password/reset/",
        views.PasswordResetView.as_view(
            form_class=forms.PasswordResetRequestForm,
            token_generator=password_tokens,
            email_template_name="registration/password_reset_email.txt",
            html_email_template_name="registration/password_reset_email.html",
            subject_template_name="registration/password_reset_subject.txt",
            success_url=reverse_lazy("password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            form_class=forms.NewPasswordForm, token_generator=password_tokens
        ),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
