"""The contract's enumerations (``shared/bss-api.md``): upper-case, case-sensitive JSON strings.

One definition for both sides: the load suite's models (``bss_loadtest.client.models``) validate
answers against them, the reference server's models (``bss_reference.models``) validate request
bodies and its routers check path and query values against them (``typing.get_args``).
They are ``Literal``s, so an unknown value is a validation error that lists the allowed ones.
"""

from __future__ import annotations

from typing import Literal

# -- customers (§2) ------------------------------------------------------------------------------
CustomerStatus = Literal["ACTIVE", "INACTIVE", "SUSPENDED", "TERMINATED"]

# -- orders (§3) ---------------------------------------------------------------------------------
OrderType = Literal["NEW", "NEW_SUBSCRIPTION", "CHANGE", "UPGRADE", "CANCEL", "CANCELLATION", "SUSPEND", "RESUME"]
OrderStatus = Literal["DRAFT", "PENDING", "APPROVED", "IN_PROGRESS", "PROCESSING", "COMPLETED", "REJECTED", "CANCELLED"]
OrderPriority = Literal["LOW", "NORMAL", "HIGH", "URGENT"]

# -- invoices (§4) -------------------------------------------------------------------------------
InvoiceType = Literal["RECURRING", "ONE_TIME", "USAGE", "ADJUSTMENT", "ADVANCE", "PRORATED"]
InvoiceStatus = Literal["DRAFT", "ISSUED", "SENT", "PAID", "OVERDUE", "CANCELLED", "VIEWED"]

# -- payments (§5) -------------------------------------------------------------------------------
PaymentMethod = Literal["CARD", "CREDIT_CARD", "BANK_TRANSFER", "CASH", "DIRECT_DEBIT", "MOBILE_PAY"]
PaymentStatus = Literal["PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED", "REFUNDED"]

# -- products (§6) -------------------------------------------------------------------------------
ProductType = Literal["SERVICE", "TARIFF", "BUNDLE", "ADDON"]
ProductCategory = Literal["MOBILE", "BROADBAND", "TV", "CLOUD", "BASIC"]
ProductStatus = Literal["ACTIVE", "INACTIVE", "DEPRECATED", "SUSPENDED", "DISCONTINUED"]

# -- services and activations (§7) ---------------------------------------------------------------
ServiceType = Literal["INTERNET", "TELEPHONY", "TELEVISION", "MOBILE", "CLOUD", "SUPPORT", "ADDON", "BUNDLE"]
ServiceStatus = Literal["ACTIVE", "INACTIVE", "DEPRECATED", "PLANNED"]
ActivationStatus = Literal[
    "PENDING", "SCHEDULED", "PROVISIONING", "ACTIVE", "FAILED", "DEPROVISIONING", "INACTIVE", "CANCELLED"
]
ActivationStepStatus = Literal["PENDING", "IN_PROGRESS", "COMPLETED", "FAILED", "SKIPPED", "CANCELLED"]

# -- assets and SIM cards (§8) -------------------------------------------------------------------
AssetType = Literal[
    "ROUTER", "SWITCH", "MODEM", "SET_TOP_BOX", "FIBER_OPTIC_CABLE", "COPPER_CABLE", "POWER_SUPPLY", "ANTENNA",
    "SERVER", "STORAGE_DEVICE", "ACCESS_POINT", "REPEATER", "DVR", "CAMERA", "SENSOR",
]
AssetStatus = Literal[
    "AVAILABLE", "IN_USE", "RESERVED", "MAINTENANCE", "DAMAGED", "STOLEN", "RETIRED", "LOST", "RETURNED"
]
SimStatus = Literal["AVAILABLE", "ASSIGNED", "SUSPENDED", "DEACTIVATED", "LOST", "DAMAGED", "TESTING"]

# -- subscriptions (§9) --------------------------------------------------------------------------
SubscriptionStatus = Literal["ACTIVE", "SUSPENDED", "CANCELLED", "EXPIRED"]

__all__ = [
    "ActivationStatus", "ActivationStepStatus", "AssetStatus", "AssetType", "CustomerStatus", "InvoiceStatus",
    "InvoiceType", "OrderPriority", "OrderStatus", "OrderType", "PaymentMethod", "PaymentStatus", "ProductCategory",
    "ProductStatus", "ProductType", "ServiceStatus", "ServiceType", "SimStatus", "SubscriptionStatus",
]
