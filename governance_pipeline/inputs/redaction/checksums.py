"""Checksums that turn a digit pattern into a finding: Luhn for cards, mod-97 for IBANs, and
the Social Security Administration's rules for which SSNs can exist.

A pattern alone matches order numbers, ids and prices; the checksum is what keeps precision
high. Each function takes the value already stripped of separators.
"""

from __future__ import annotations

__all__ = ["IBAN_LENGTHS", "iban_valid", "luhn_valid", "ssn_valid"]

# Length of a full IBAN per country (SWIFT's IBAN registry).
IBAN_LENGTHS: dict[str, int] = {
    **dict.fromkeys(["NO"], 15),
    **dict.fromkeys(["BE"], 16),
    **dict.fromkeys(["DK", "FI", "FK", "FO", "GL", "NL", "SD"], 18),
    **dict.fromkeys(["MK", "SI"], 19),
    **dict.fromkeys(["AT", "BA", "EE", "KZ", "LT", "LU", "MN", "XK"], 20),
    **dict.fromkeys(["CH", "HR", "LI", "LV"], 21),
    **dict.fromkeys(["BG", "BH", "CR", "DE", "GB", "GE", "IE", "ME", "RS", "VA"], 22),
    **dict.fromkeys(["AE", "GI", "IL", "IQ", "OM", "SO", "TL"], 23),
    **dict.fromkeys(["AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG"], 24),
    **dict.fromkeys(["LY", "PT", "ST"], 25),
    **dict.fromkeys(["IS", "TR"], 26),
    **dict.fromkeys(["BI", "DJ", "FR", "GR", "IT", "MC", "MR", "SM"], 27),
    **dict.fromkeys(["AL", "AZ", "BY", "CY", "DO", "GT", "HU", "LB", "NI", "PL", "SV"], 28),
    **dict.fromkeys(["BR", "EG", "PS", "QA", "UA"], 29),
    **dict.fromkeys(["JO", "KW", "MU", "YE"], 30),
    **dict.fromkeys(["MT", "SC"], 31),
    **dict.fromkeys(["LC"], 32),
    **dict.fromkeys(["RU"], 33),
}


def luhn_valid(digits: str) -> bool:
    """Return whether a digit string passes the Luhn (mod 10) checksum.

    Args:
        digits: Digits only, e.g. ``"4111111111111111"``.

    Returns:
        ``True`` if the checksum holds; ``False`` for an empty or non-digit string.
    """
    if not digits or not digits.isdecimal() or not digits.isascii():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def iban_valid(compact: str) -> bool:
    """Return whether an IBAN without spaces has its country's length and a valid mod-97 check.

    Args:
        compact: Letters and digits only, e.g. ``"GB82WEST12345698765432"`` (any case).

    Returns:
        ``True`` for a well-formed IBAN of a registered country whose check digits hold.
    """
    iban = compact.upper()
    if not iban.isascii() or not iban.isalnum() or IBAN_LENGTHS.get(iban[:2]) != len(iban):
        return False
    if not iban[2:4].isdecimal():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def ssn_valid(digits: str) -> bool:
    """Return whether nine digits can be a US Social Security number.

    Area 000, 666 and 900-999, group 00 and serial 0000 are never issued.

    Args:
        digits: Exactly nine ASCII digits.
    """
    if len(digits) != 9 or not digits.isdecimal() or not digits.isascii():
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"
