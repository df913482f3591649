"""Pydantic request bodies (validated, 400 on failure) and response models (OpenAPI only).

Field names are the contract's JSON names (camelCase). Unknown properties are ignored, as in the
real backend. Handlers return ``Response`` objects built from plain dicts, so the response models
document the API without costing a validation per response. The enumerations are the contract's
(``bss_contract.enums``, shared with the load suite's client).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bss_contract.enums import (
    AssetType,
    CustomerStatus,
    InvoiceStatus,
    InvoiceType,
    OrderPriority,
    OrderStatus,
    OrderType,
    PaymentMethod,
    PaymentStatus,
    ProductCategory,
    ProductStatus,
    ProductType,
    SimStatus,
    SubscriptionStatus,
)

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


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


# -- customers ---------------------------------------------------------------------------------
class CreateCustomer(Body):
    firstName: Annotated[NotBlank, Field(min_length=2, max_length=50)]
    lastName: Annotated[NotBlank, Field(min_length=2, max_length=50)]
    pesel: Annotated[str, Field(pattern=r"^[0-9]{11}$")] | None = None
    nip: Annotated[str, Field(pattern=r"^[0-9]{10}$")] | None = None
    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 \-]{9,15}$")] | None = None


class UpdateCustomer(CreateCustomer):
    customerId: uuid.UUID = Field(description="Required; replaced by the path id.")


class ChangeCustomerStatus(Body):
    customerId: uuid.UUID = Field(description="Required; replaced by the path id.")
    status: Annotated[str, Field(max_length=20, description="Case-insensitive CustomerStatus.")]


class CustomerResponse(BaseModel):
    id: str
    firstName: str
    lastName: str
    pesel: str | None = None
    nip: str | None = None
    email: str
    phone: str | None = None
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
    priority: OrderPriority
    totalAmount: Money
    currency: Annotated[str, Field(max_length=3)] | None = None
    requestedDate: Date | None = None
    orderChannel: Annotated[str, Field(max_length=50)] | None = None
    salesRepId: Annotated[str, Field(max_length=100)] | None = None
    notes: Annotated[str, Field(max_length=2000)] | None = None


class UpdateOrderStatus(Body):
    id: uuid.UUID
    status: OrderStatus
    version: int


class OrderResponse(BaseModel):
    id: str
    orderNumber: str
    customerId: str
    customerName: str | None = None
    orderType: str
    orderTypeDisplayName: str
    status: str
    statusDisplayName: str
    priority: str
    priorityDisplayName: str
    totalAmount: float
    currency: str | None = None
    requestedDate: str | None = None
    promisedDate: str | None = None
    completedDate: str | None = None
    orderChannel: str | None = None
    salesRepId: str | None = None
    salesRepName: str | None = None
    notes: str | None = None
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
    paidDate: Date | None = None
    billingPeriodStart: Date | None = None
    billingPeriodEnd: Date | None = None
    discountAmount: NonNegMoney | None = None
    lateFee: NonNegMoney | None = None
    currency: Annotated[str, Field(max_length=3)] | None = None
    paymentTerms: Annotated[int, Field(ge=0, le=100000)] | None = None
    notes: Annotated[str, Field(max_length=2000)] | None = None
    pdfUrl: Annotated[str, Field(max_length=500)] | None = None


class UpdateInvoice(CreateInvoice):
    id: uuid.UUID
    version: int


class ChangeInvoiceStatus(Body):
    id: uuid.UUID
    status: InvoiceStatus
    version: int
    paidDate: Date | None = None
    sentToEmail: Annotated[str, Field(max_length=254)] | None = None
    sentAt: DateTime | None = None


class InvoiceResponse(BaseModel):
    id: str
    invoiceNumber: str
    customerId: str
    customerName: str | None = None
    invoiceType: str
    invoiceTypeDisplayName: str
    status: str
    statusDisplayName: str
    issueDate: str
    dueDate: str
    paidDate: str | None = None
    billingPeriodStart: str | None = None
    billingPeriodEnd: str | None = None
    subtotal: float
    discountAmount: float
    taxAmount: float
    totalAmount: float
    currency: str | None = None
    paymentTerms: int | None = None
    lateFee: float
    notes: str | None = None
    pdfUrl: str | None = None
    sentToEmail: str | None = None
    sentAt: str | None = None
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
    invoiceId: uuid.UUID | None = None
    amount: PositiveMoney
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    paymentMethod: PaymentMethod
    paymentDate: Date = Field(description="Required but ignored: the server stores today.")
    referenceNumber: Annotated[str, Field(max_length=100)] | None = None
    notes: Annotated[str, Field(max_length=2000)] | None = None


class ChangePaymentStatus(Body):
    id: NotBlank = Field(description="Required; replaced by the path id.")
    status: PaymentStatus
    reason: Annotated[str, Field(max_length=500)] | None = None


class PaymentResponse(BaseModel):
    id: str
    paymentNumber: str
    customerId: str
    invoiceId: str | None = None
    amount: float
    currency: str
    paymentMethod: str
    paymentMethodDisplayName: str
    paymentStatus: str
    paymentStatusDisplayName: str
    transactionId: str | None = None
    gateway: str | None = None
    paymentDate: str
    receivedDate: str | None = None
    referenceNumber: str | None = None
    notes: str | None = None
    reversalReason: str | None = None
    createdAt: str
    updatedAt: str
    version: int


# -- products ----------------------------------------------------------------------------------
class CreateProduct(Body):
    productCode: Annotated[NotBlank, Field(min_length=3, max_length=50)]
    name: Annotated[NotBlank, Field(min_length=2, max_length=200)]
    description: Annotated[str, Field(max_length=2000)] | None = None
    productType: ProductType
    category: ProductCategory | None = None
    price: NonNegMoney
    currency: Annotated[str, Field(max_length=3)] | None = None
    billingPeriod: Annotated[NotBlank, Field(max_length=20)]
    status: ProductStatus | None = None
    validityStart: Date | None = None
    validityEnd: Date | None = None


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
    description: str | None = None
    productType: str
    productTypeDisplayName: str
    category: str | None = None
    categoryDisplayName: str | None = None
    price: float
    currency: str | None = None
    billingPeriod: str
    status: str
    statusDisplayName: str
    validityStart: str | None = None
    validityEnd: str | None = None
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
    deletedAt: str | None = None
    serviceCode: str
    name: str
    description: str | None = None
    serviceType: str
    category: str
    status: str
    provisioningTimeMinutes: int
    deprovisioningTimeMinutes: int
    dependsOnServiceCodes: list[str]
    requiresEquipment: bool
    autoProvision: bool
    provisioningScript: str | None = None
    serviceName: str
    active: bool


class CreateActivation(Body):
    customerId: uuid.UUID
    serviceCode: Annotated[NotBlank, Field(max_length=100)]
    correlationId: Annotated[str, Field(max_length=100)] | None = None
    scheduledDate: DateTime | None = None
    activationNotes: Annotated[str, Field(max_length=2000)] | None = None


class DeactivateActivation(Body):
    activationId: uuid.UUID
    deactivationNotes: Annotated[str, Field(max_length=2000)] | None = None


class ActivationStep(BaseModel):
    id: str
    stepOrder: int
    stepName: str
    stepDescription: str
    status: str
    startedAt: str | None = None
    completedAt: str | None = None
    errorMessage: str | None = None
    retryCount: int
    maxRetries: int
    provisioningSystem: str | None = None
    provisioningCommand: str | None = None
    executionTimeMs: int | None = None


class ActivationResponse(BaseModel):
    id: str
    customerId: str
    serviceCode: str
    serviceName: str
    status: str
    activationDate: str | None = None
    deactivationDate: str | None = None
    scheduledDate: str | None = None
    activationNotes: str | None = None
    deactivationNotes: str | None = None
    correlationId: str
    retryCount: int
    maxRetries: int
    steps: list[ActivationStep]


class Eligibility(BaseModel):
    eligible: bool
    reason: str | None = None


# -- assets ------------------------------------------------------------------------------------
class CreateAsset(Body):
    assetTag: Annotated[NotBlank, Field(max_length=100)]
    assetType: AssetType
    name: Annotated[NotBlank, Field(max_length=200)]
    description: Annotated[str, Field(max_length=2000)] | None = None
    serialNumber: Annotated[str, Field(max_length=100)] | None = None
    modelNumber: Annotated[str, Field(max_length=100)] | None = None
    manufacturer: Annotated[str, Field(max_length=100)] | None = None
    purchaseDate: Date | None = None
    warrantyExpiry: Date | None = None
    location: Annotated[str, Field(max_length=200)] | None = None
    costCenter: Annotated[str, Field(max_length=100)] | None = None
    notes: Annotated[str, Field(max_length=2000)] | None = None


class AssignAsset(Body):
    assignedToType: Annotated[NotBlank, Field(max_length=50)]
    assignedToId: Annotated[NotBlank, Field(max_length=100)]
    assignedToName: Annotated[NotBlank, Field(max_length=200)]


class AssetResponse(BaseModel):
    id: str
    assetTag: str
    assetType: str
    name: str
    description: str | None = None
    serialNumber: str | None = None
    modelNumber: str | None = None
    manufacturer: str | None = None
    status: str
    purchaseDate: str | None = None
    warrantyExpiry: str | None = None
    location: str | None = None
    assignedToType: str | None = None
    assignedToId: str | None = None
    assignedToName: str | None = None
    assignedDate: str | None = None
    costCenter: str | None = None
    notes: str | None = None


class CreateNetworkElement(Body):
    elementId: Annotated[NotBlank, Field(max_length=100)]
    elementType: Annotated[NotBlank, Field(max_length=50)]
    name: Annotated[NotBlank, Field(max_length=200)]
    description: Annotated[str, Field(max_length=2000)] | None = None
    ipAddress: Annotated[str, Field(max_length=64)] | None = None
    macAddress: Annotated[str, Field(max_length=64)] | None = None
    firmwareVersion: Annotated[str, Field(max_length=50)] | None = None
    softwareVersion: Annotated[str, Field(max_length=50)] | None = None
    location: Annotated[str, Field(max_length=200)] | None = None
    rackPosition: Annotated[str, Field(max_length=50)] | None = None
    portCount: Annotated[int, Field(ge=0, le=1000000)] | None = None
    capacity: Annotated[str, Field(max_length=50)] | None = None
    status: Literal["ACTIVE", "INACTIVE", "MAINTENANCE", "FAILED", "DECOMMISSIONED"] | None = None


class NetworkElementResponse(BaseModel):
    id: str
    elementId: str
    elementType: str
    name: str
    description: str | None = None
    ipAddress: str | None = None
    macAddress: str | None = None
    firmwareVersion: str | None = None
    softwareVersion: str | None = None
    location: str | None = None
    rackPosition: str | None = None
    portCount: int | None = None
    capacity: str | None = None
    status: str
    lastHeartbeat: str | None = None
    isOnline: bool


class CreateSimCard(Body):
    iccid: Annotated[NotBlank, Field(max_length=30)]
    msisdn: Annotated[str, Field(max_length=20)] | None = None
    imsi: Annotated[str, Field(max_length=20)] | None = None
    networkOperator: Annotated[str, Field(max_length=100)] | None = None
    apn: Annotated[str, Field(max_length=100)] | None = None
    status: SimStatus | None = None
    expiryDate: Date | None = None


class SimCardResponse(BaseModel):
    id: str
    iccid: str
    msisdn: str | None = None
    imsi: str | None = None
    networkOperator: str | None = None
    apn: str | None = None
    status: str
    expiryDate: str | None = None
    assignedToType: str | None = None
    assignedToId: str | None = None
    assignedToName: str | None = None
    assignedDate: str | None = None


# -- subscriptions -----------------------------------------------------------------------------
class CreateSubscription(Body):
    customerId: uuid.UUID
    productId: uuid.UUID
    orderId: uuid.UUID | None = None
    startDate: Date
    billingStart: Date
    endDate: Date | None = None
    nextBillingDate: Date | None = None
    billingPeriod: Annotated[NotBlank, Field(max_length=20)]
    price: PositiveMoney
    currency: Annotated[str, Field(max_length=3)] | None = None
    autoRenew: bool = False


class UpdateSubscription(Body):
    endDate: Date | None = None
    nextBillingDate: Date | None = None
    price: PositiveMoney | None = None
    currency: Annotated[str, Field(max_length=3)] | None = None
    billingPeriod: Annotated[NotBlank, Field(max_length=20)] | None = None


class ChangeSubscriptionStatus(Body):
    id: NotBlank = Field(description="Required; replaced by the path id.")
    status: SubscriptionStatus
    reason: Annotated[str, Field(max_length=500)] | None = None


class SubscriptionResponse(BaseModel):
    id: str
    subscriptionNumber: str
    customerId: str
    customerName: str | None = None
    productId: str
    productName: str | None = None
    orderId: str | None = None
    status: str
    statusDisplayName: str
    startDate: str
    endDate: str | None = None
    billingStart: str
    nextBillingDate: str | None = None
    billingPeriod: str
    price: float
    currency: str | None = None
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
    errors: list[dict[str, Any]] | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ProblemDetail, "description": "Validation failed"},
    401: {"model": ProblemDetail, "description": "Missing or invalid bearer token"},
}
NOT_FOUND = {404: {"description": "Not found"}}
CONFLICT = {409: {"model": ProblemDetail, "description": "Illegal state or version conflict"}}
