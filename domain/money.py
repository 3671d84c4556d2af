"""Money is an integer amount of minor units plus an ISO 4217 currency code."""

from __future__ import annotations

from domain.errors import InvalidInput

_ZERO_DECIMAL = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMAL = "BHD IQD JOD KWD LYD OMR TND"
_FOUR_DECIMAL = "CLF UYW"
_TWO_DECIMAL = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB "
    "EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS "
    "KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN "
    "MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD "
    "SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS "
    "UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG"
)

MINOR_UNITS: dict[str, int] = {
    **{c: 0 for c in _ZERO_DECIMAL.split()},
    **{c: 2 for c in _TWO_DECIMAL.split()},
    **{c: 3 for c in _THREE_DECIMAL.split()},
    **{c: 4 for c in _FOUR_DECIMAL.split()},
}

# 10^15 minor units is beyond any real order, and far inside a signed 64-bit column.
MAX_AMOUNT = 10**15


def check_currency(currency: str) -> str:
    """Return the currency code if ISO 4217 knows it, else refuse."""
    if currency not in MINOR_UNITS:
        raise InvalidInput(f"unknown currency {currency!r}", code="unknown_currency")
    return currency


def check_amount(amount: int, field: str, *, allow_zero: bool = True) -> int:
    """Return the amount if it is a non-negative (or positive) integer within range."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput(f"{field} must be an integer of minor units", code="invalid_amount")
    if amount < 0 or (amount == 0 and not allow_zero) or amount > MAX_AMOUNT:
        raise InvalidInput(f"{field} is out of range: {amount}", code="invalid_amount", field=field)
    return amount
