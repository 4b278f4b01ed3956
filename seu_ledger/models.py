"""Models of the SEU/PDU ledger. The ledger may refer to credentials; never the reverse."""
