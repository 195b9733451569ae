"""Personal data: find it (`scan`), and write versions without it (the `pii-redact` operation).

Detection is regex candidates checked by validators (Luhn, IBAN mod-97, `ipaddress`, libphonenumber,
national-id rules) plus spaCy NER for person and location names; see `detect`. Nothing here stores a found
value: scans report counts, ids and masked snippets, and redaction replaces values in the new version.
"""

from datatrainer.pii.config import PII_TYPES, PiiConfig, RedactParams

__all__ = ["PII_TYPES", "PiiConfig", "RedactParams"]
