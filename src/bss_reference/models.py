"""Pydantic request bodies (validated, 400 on failure) and response models (OpenAPI only).

Field names are the contract's JSON names (camelCase). Unknown properties are ignored, as in the
real backend. Handlers return ``Response`` objects built from plain dicts, so the response models
document the API without costing a validation per response.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Generic, Literal, Optional, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

T = TypeVar("T")


def _not_blank(v: str) -> str:
    if not v.strip():
        raise ValueError("must not be blank")
    return v


NotBlank = Annotated[str, AfterValidator(_not_blank)]
Money = Annotated[float, Field(allow_inf_nan=False, le=1e15, ge=-1e15)]
NonNegMoney = Annotated[float, Field(allow_inf_nan=False, ge=0, le=1e15)]
PositiveMoney = Annotated[float, Field(allow_inf_nan=False, ge=0.01, le=1e15)]
Date = Annotated[dt.date, Field(ge=dt.date(1900, 1, 1), le=dt.date(9000, 12, 31))]
DateTime = Annotated[dt.datetime, Field(ge=dt.datetime(1900, 1, 1), le=dt.datetime(9000, 12, 31))]

CustomerStatus = Literal["ACTIVE", "INACTIVE", "SUSPENDED", "TERMINATED"]
OrderType = Literal["NEW", "NEW_SUBSCRIPTION", "CHANGE", "UPGRADE", "CANCEL", "CANCELLATION",
                    "SUSPEND", "RESUME"]
OrderStatus = Literal["DRAFT", "PENDING", "APPROVED", "IN_PROGRESS", "PROCESSING", "COMPLETED",
                      "REJECTED", "CANCELLED"]
Priority = Literal["LOW", "NORMAL", "HIGH", "URGENT"]
InvoiceType = Literal["RECURRING", "ONE_TIME", "USAGE", "ADJUSTMENT", "ADVANCE", "PRORATED"]
InvoiceStatus = Literal["DRAFT", "ISSUED", "SENT", "PAID", "OVERDUE", "CANCELLED", "VIEWED"]
PaymentMethod = Literal["CARD", "CREDIT_CARD", "BANK_TRANSFER", "CASH", "DIRECT_DEBIT", "MOBILE_PAY"]
PaymentStatus = Literal["PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED", "REFUNDED"]
ProductType = Literal["SERVICE", "TARIFF", "BUNDLE", "ADDON"]
ProductCategory = Literal["MOBILE", "BROADBAND", "TV", "CLOUD", "BASIC"]
ProductStatus = Literal["ACTIVE", "INACTIVE", "DEPRECATED", "SUSPENDED", "DISCONTINUED"]
ServiceType = Literal["INTERNET", "TELEPHONY", "TELEVISION", "MOBILE", "CLOUD", "SUPPORT", "ADDON",
                      "BUNDLE"]
AssetType = Literal["ROUTER", "SWITCH", "MODEM", "SET_TOP_BOX", "FIBER_OPTIC_CABLE", "COPPER_CABLE",
                    "POWER_SUPPLY", "ANTENNA", "SERVER", "STORAGE_DEVICE", "ACCESS_POINT",
                    "REPEATER", "DVR", "CAMERA", "SENSOR"]
SimStatus = Literal["AVAILABLE", "ASSIGNED", "SUSPENDED", "DEACTIVATED", "LOST", "DAMAGED", "TESTING"]
SubscriptionStatus = Literal["ACTIVE", "SUSPENDED", "CANCELLED", "EXPIRED"]

Str = lambda lo=0, hi=255: Annotated[str, Field(min_length=lo, max_length=hi)]  # noqa: E731


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


# -- customers ---------------------------------------------------------------------------------
class CreateCustomer(Body):
    firstName: Annotated[NotBlank, Field(min_length=2, max_length=50)]
    lastName: Annotated[NotBlank, Field(min_length=2, max_length=50)]
    pesel: Optional[Annotated[str, Field(pattern=r"^[0-9]{11}$")]] = None
    nip: Optional[Annotated[str, Field(pattern=r"^[0-9]{10}$")]] = None
    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    phone: Optional[Annotated[str, Field(pattern=r"^\+?[0-9 \-]{9,15}$")]] = None


class UpdateCustomer(CreateCustomer):
    customerId: uuid.UUID = Field(description="Required; replaced by the path id.")


class ChangeCustomerStatus(Body):
    customerId: uuid.UUID = Field(description="Required; replaced by the path id.")
    status: Annotated[str, Field(max_length=20, description="Case-insensitive CustomerStatus.")]


class CustomerResponse(BaseModel):
    id: str
    firstName: str
    lastName: str
    pesel: Optional[str] = None
    nip: Optional[str] = None
    email: str
    phone: Optional[str] = None
    status: CustomerStatus
    statusDisplayName: str
    createdAt: str
    updatedAt: str
    version: int


# -- orders ------------------------------------------------------------------------------------
class CreateOrder(Body):
    orderNumber: Annotated[NotBlank, Field(min_length=3, max_length=50)]
    customerId: uuid.UUID
    orderType: OrderType
    status: OrderStatus
    priority: Priority
    totalAmount: Money
    currency: Optional[Annotated[str, Field(max_length=3)]] = None
    requestedDate: Optional[Date] = None
    orderChannel: Optional[Annotated[str, Field(max_length=50)]] = None
    salesRepId: Optional[Annotated[str, Field(max_length=100)]] = None
    notes: Optional[Annotated[str, Field(max_length=2000)]] = None


class UpdateOrderStatus(Body):
    id: uuid.UUID
    status: OrderStatus
    version: int


class OrderResponse(BaseModel):
    id: str
    orderNumber: str
    customerId: str
    customerName: Optional[str] = None
    orderType: str
    orderTypeDisplayName: str
    status: str
    statusDisplayName: str
    priority: str
    priorityDisplayName: str
    totalAmount: float
    currency: Optional[str] = None
    requestedDate: Optional[str] = None
    promisedDate: Optional[str] = None
    completedDate: Optional[str] = None
    orderChannel: Optional[str] = None
    salesRepId: Optional[str] = None
    salesRepName: Optional[str] = None
    notes: Optional[str] = None
    isPending: bool
    isCompleted: bool
    canBeCancelled: bool
    itemCount: int
    createdAt: str
    updatedAt: str
    createdBy: str
    updatedBy: str
    version: int


# -- invoices ----------------------------------------------------------------------------------
class CreateInvoice(Body):
    invoiceNumber: Annotated[NotBlank, Field(min_length=3, max_length=50)]
    customerId: uuid.UUID
    invoiceType: InvoiceType
    issueDate: Date
    dueDate: Date
    subtotal: NonNegMoney
    taxAmount: NonNegMoney
    totalAmount: NonNegMoney
    paidDate: Optional[Date] = None
    billingPeriodStart: Optional[Date] = None
    billingPeriodEnd: Optional[Date] = None
    discountAmount: Optional[NonNegMoney] = None
    lateFee: Optional[NonNegMoney] = None
    currency: Optional[Annotated[str, Field(max_length=3)]] = None
    paymentTerms: Optional[Annotated[int, Field(ge=0, le=100_000)]] = None
    notes: Optional[Annotated[str, Field(max_length=2000)]] = None
    pdfUrl: Optional[Annotated[str, Field(max_length=500)]] = None


class UpdateInvoice(CreateInvoice):
    id: uuid.UUID
    version: int


class ChangeInvoiceStatus(Body):
    id: uuid.UUID
    status: InvoiceStatus
    version: int
    paidDate: Optional[Date] = None
    sentToEmail: Optional[Annotated[str, Field(max_length=254)]] = None
    sentAt: Optional[DateTime] = None


class InvoiceResponse(BaseModel):
    id: str
    invoiceNumber: str
    customerId: str
    customerName: Optional[str] = None
    invoiceType: str
    invoiceTypeDisplayName: str
    status: str
    statusDisplayName: str
    issueDate: str
    dueDate: str
    paidDate: Optional[str] = None
    billingPeriodStart: Optional[str] = None
    billingPeriodEnd: Optional[str] = None
    subtotal: float
    discountAmount: float
    taxAmount: float
    totalAmount: float
    currency: Optional[str] = None
    paymentTerms: Optional[int] = None
    lateFee: float
    notes: Optional[str] = None
    pdfUrl: Optional[str] = None
    sentToEmail: Optional[str] = None
    sentAt: Optional[str] = None
    isUnpaid: bool
    isOverdue: bool
    isPaid: bool
    canBeCancelled: bool
    itemCount: int
    createdAt: str
    updatedAt: str
    createdBy: str
    updatedBy: str
    version: int


# -- payments ----------------------------------------------------------------------------------
class CreatePayment(Body):
    customerId: uuid.UUID
    invoiceId: Optional[uuid.UUID] = None
    amount: PositiveMoney
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    paymentMethod: PaymentMethod
    paymentDate: Date = Field(description="Required but ignored: the server stores today.")
    referenceNumber: Optional[Annotated[str, Field(max_length=100)]] = None
    notes: Optional[Annotated[str, Field(max_length=2000)]] = None


class ChangePaymentStatus(Body):
    id: NotBlank = Field(description="Required; replaced by the path id.")
    status: PaymentStatus
    reason: Optional[Annotated[str, Field(max_length=500)]] = None


class PaymentResponse(BaseModel):
    id: str
    paymentNumber: str
    customerId: str
    invoiceId: Optional[str] = None
    amount: float
    currency: str
    paymentMethod: str
    paymentMethodDisplayName: str
    paymentStatus: str
    paymentStatusDisplayName: str
    transactionId: Optional[str] = None
    gateway: Optional[str] = None
    paymentDate: str
    receivedDate: Optional[str] = None
    referenceNumber: Optional[str] = None
    notes: Optional[str] = None
    reversalReason: Optional[str] = None
    createdAt: str
    updatedAt: str
    version: int


# -- products ----------------------------------------------------------------------------------
class CreateProduct(Body):
    productCode: Annotated[NotBlank, Field(min_length=3, max_length=50)]
    name: Annotated[NotBlank, Field(min_length=2, max_length=200)]
    description: Optional[Annotated[str, Field(max_length=2000)]] = None
    productType: ProductType
    category: Optional[ProductCategory] = None
    price: NonNegMoney
    currency: Optional[Annotated[str, Field(max_length=3)]] = None
    billingPeriod: Annotated[NotBlank, Field(max_length=20)]
    status: Optional[ProductStatus] = None
    validityStart: Optional[Date] = None
    validityEnd: Optional[Date] = None


class UpdateProduct(CreateProduct):
    id: uuid.UUID
    version: int
    status: ProductStatus


class ChangeProductStatus(Body):
    id: uuid.UUID
    status: ProductStatus
    version: int


class ProductResponse(BaseModel):
    id: str
    productCode: str
    name: str
    description: Optional[str] = None
    productType: str
    productTypeDisplayName: str
    category: Optional[str] = None
    categoryDisplayName: Optional[str] = None
    price: float
    currency: Optional[str] = None
    billingPeriod: str
    status: str
    statusDisplayName: str
    validityStart: Optional[str] = None
    validityEnd: Optional[str] = None
    isActive: bool
    createdAt: str
    updatedAt: str
    createdBy: str
    updatedBy: str
    version: int


# -- services ----------------------------------------------------------------------------------
class ServiceEntity(BaseModel):
    id: str
    createdAt: str
    updatedAt: str
    createdBy: str
    updatedBy: str
    version: int
    deletedAt: Optional[str] = None
    serviceCode: str
    name: str
    description: Optional[str] = None
    serviceType: str
    category: str
    status: str
    provisioningTimeMinutes: int
    deprovisioningTimeMinutes: int
    dependsOnServiceCodes: list[str]
    requiresEquipment: bool
    autoProvision: bool
    provisioningScript: Optional[str] = None
    serviceName: str
    active: bool


class CreateActivation(Body):
    customerId: uuid.UUID
    serviceCode: Annotated[NotBlank, Field(max_length=100)]
    correlationId: Optional[Annotated[str, Field(max_length=100)]] = None
    scheduledDate: Optional[DateTime] = None
    activationNotes: Optional[Annotated[str, Field(max_length=2000)]] = None


class DeactivateActivation(Body):
    activationId: uuid.UUID
    deactivationNotes: Optional[Annotated[str, Field(max_length=2000)]] = None


class ActivationStep(BaseModel):
    id: str
    stepOrder: int
    stepName: str
    stepDescription: str
    status: str
    startedAt: Optional[str] = None
    completedAt: Optional[str] = None
    errorMessage: Optional[str] = None
    retryCount: int
    maxRetries: int
    provisioningSystem: Optional[str] = None
    provisioningCommand: Optional[str] = None
    executionTimeMs: Optional[int] = None


class ActivationResponse(BaseModel):
    id: str
    customerId: str
    serviceCode: str
    serviceName: str
    status: str
    activationDate: Optional[str] = None
    deactivationDate: Optional[str] = None
    scheduledDate: Optional[str] = None
    activationNotes: Optional[str] = None
    deactivationNotes: Optional[str] = None
    correlationId: str
    retryCount: int
    maxRetries: int
    steps: list[ActivationStep]


class Eligibility(BaseModel):
    eligible: bool
    reason: Optional[str] = None


# -- assets ------------------------------------------------------------------------------------
class CreateAsset(Body):
    assetTag: Annotated[NotBlank, Field(max_length=100)]
    assetType: AssetType
    name: Annotated[NotBlank, Field(max_length=200)]
    description: Optional[Annotated[str, Field(max_length=2000)]] = None
    serialNumber: Optional[Annotated[str, Field(max_length=100)]] = None
    modelNumber: Optional[Annotated[str, Field(max_length=100)]] = None
    manufacturer: Optional[Annotated[str, Field(max_length=100)]] = None
    purchaseDate: Optional[Date] = None
    warrantyExpiry: Optional[Date] = None
    location: Optional[Annotated[str, Field(max_length=200)]] = None
    costCenter: Optional[Annotated[str, Field(max_length=100)]] = None
    notes: Optional[Annotated[str, Field(max_length=2000)]] = None


class AssignAsset(Body):
    assignedToType: Annotated[NotBlank, Field(max_length=50)]
    assignedToId: Annotated[NotBlank, Field(max_length=100)]
    assignedToName: Annotated[NotBlank, Field(max_length=200)]


class AssetResponse(BaseModel):
    id: str
    assetTag: str
    assetType: str
    name: str
    description: Optional[str] = None
    serialNumber: Optional[str] = None
    modelNumber: Optional[str] = None
    manufacturer: Optional[str] = None
    status: str
    purchaseDate: Optional[str] = None
    warrantyExpiry: Optional[str] = None
    location: Optional[str] = None
    assignedToType: Optional[str] = None
    assignedToId: Optional[str] = None
    assignedToName: Optional[str] = None
    assignedDate: Optional[str] = None
    costCenter: Optional[str] = None
    notes: Optional[str] = None


class CreateNetworkElement(Body):
    elementId: Annotated[NotBlank, Field(max_length=100)]
    elementType: Annotated[NotBlank, Field(max_length=50)]
    name: Annotated[NotBlank, Field(max_length=200)]
    description: Optional[Annotated[str, Field(max_length=2000)]] = None
    ipAddress: Optional[Annotated[str, Field(max_length=64)]] = None
    macAddress: Optional[Annotated[str, Field(max_length=64)]] = None
    firmwareVersion: Optional[Annotated[str, Field(max_length=50)]] = None
    softwareVersion: Optional[Annotated[str, Field(max_length=50)]] = None
    location: Optional[Annotated[str, Field(max_length=200)]] = None
    rackPosition: Optional[Annotated[str, Field(max_length=50)]] = None
    portCount: Optional[Annotated[int, Field(ge=0, le=1_000_000)]] = None
    capacity: Optional[Annotated[str, Field(max_length=50)]] = None
    status: Optional[Literal["ACTIVE", "INACTIVE", "MAINTENANCE", "FAILED", "DECOMMISSIONED"]] = None


class NetworkElementResponse(BaseModel):
    id: str
    elementId: str
    elementType: str
    name: str
    description: Optional[str] = None
    ipAddress: Optional[str] = None
    macAddress: Optional[str] = None
    firmwareVersion: Optional[str] = None
    softwareVersion: Optional[str] = None
    location: Optional[str] = None
    rackPosition: Optional[str] = None
    portCount: Optional[int] = None
    capacity: Optional[str] = None
    status: str
    lastHeartbeat: Optional[str] = None
    isOnline: bool


class CreateSimCard(Body):
    iccid: Annotated[NotBlank, Field(max_length=30)]
    msisdn: Optional[Annotated[str, Field(max_length=20)]] = None
    imsi: Optional[Annotated[str, Field(max_length=20)]] = None
    networkOperator: Optional[Annotated[str, Field(max_length=100)]] = None
    apn: Optional[Annotated[str, Field(max_length=100)]] = None
    status: Optional[SimStatus] = None
    expiryDate: Optional[Date] = None


class SimCardResponse(BaseModel):
    id: str
    iccid: str
    msisdn: Optional[str] = None
    imsi: Optional[str] = None
    networkOperator: Optional[str] = None
    apn: Optional[str] = None
    status: str
    expiryDate: Optional[str] = None
    assignedToType: Optional[str] = None
    assignedToId: Optional[str] = None
    assignedToName: Optional[str] = None
    assignedDate: Optional[str] = None


# -- subscriptions -----------------------------------------------------------------------------
class CreateSubscription(Body):
    customerId: uuid.UUID
    productId: uuid.UUID
    orderId: Optional[uuid.UUID] = None
    startDate: Date
    billingStart: Date
    endDate: Optional[Date] = None
    nextBillingDate: Optional[Date] = None
    billingPeriod: Annotated[NotBlank, Field(max_length=20)]
    price: PositiveMoney
    currency: Optional[Annotated[str, Field(max_length=3)]] = None
    autoRenew: bool = False


class UpdateSubscription(Body):
    endDate: Optional[Date] = None
    nextBillingDate: Optional[Date] = None
    price: Optional[PositiveMoney] = None
    currency: Optional[Annotated[str, Field(max_length=3)]] = None
    billingPeriod: Optional[Annotated[NotBlank, Field(max_length=20)]] = None


class ChangeSubscriptionStatus(Body):
    id: NotBlank = Field(description="Required; replaced by the path id.")
    status: SubscriptionStatus
    reason: Optional[Annotated[str, Field(max_length=500)]] = None


class SubscriptionResponse(BaseModel):
    id: str
    subscriptionNumber: str
    customerId: str
    customerName: Optional[str] = None
    productId: str
    productName: Optional[str] = None
    orderId: Optional[str] = None
    status: str
    statusDisplayName: str
    startDate: str
    endDate: Optional[str] = None
    billingStart: str
    nextBillingDate: Optional[str] = None
    billingPeriod: str
    price: float
    currency: Optional[str] = None
    autoRenew: bool
    createdAt: str
    updatedAt: str
    version: int


# -- shared ------------------------------------------------------------------------------------
class PageResponse(BaseModel, Generic[T]):
    content: list[T]
    page: int
    size: int
    totalElements: int
    totalPages: int
    first: bool
    last: bool
    empty: bool


class ProblemDetail(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    traceId: str
    errors: Optional[list[dict[str, Any]]] = None


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ProblemDetail, "description": "Validation failed"},
    401: {"model": ProblemDetail, "description": "Missing or invalid bearer token"},
}
NOT_FOUND = {404: {"description": "Not found"}}
CONFLICT = {409: {"model": ProblemDetail, "description": "Illegal state or version conflict"}}
