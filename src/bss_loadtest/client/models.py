"""Pydantic models of the BSS request and response bodies (bss-api.md).

Python attribute names are snake_case; the JSON names are the contract's camelCase (aliases),
so a validation error names the JSON field (``content[0].email``). Response models ignore
unknown properties (the contract allows the backend to add fields) and require what the suite
relies on (ids, numbers, statuses, versions). Enumerations are the contract's ``Literal``s
(``bss_contract.enums``, shared with the reference server): an unknown status in an answer is a
contract break the run should see.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from bss_contract.enums import (
    ActivationStatus,
    ActivationStepStatus,
    AssetStatus,
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
    ServiceStatus,
    ServiceType,
    SimStatus,
    SubscriptionStatus,
)

T = TypeVar("T")


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_json(self) -> bytes:
        """The JSON body to send: contract names, no ``null`` for unset optional fields."""
        return self.__pydantic_serializer__.to_json(self, by_alias=True, exclude_none=True)


# --- generic containers ---------------------------------------------------------------------
class Page(_Body, Generic[T]):
    """``PageResponse``: one page of a list."""

    content: list[T]
    page: int
    size: int
    total_elements: int
    total_pages: int
    first: bool
    last: bool
    empty: bool


class Health(_Body):
    status: str = Field(description="UP, DOWN, OUT_OF_SERVICE or UNKNOWN")


# --- customers ------------------------------------------------------------------------------
class CreateCustomer(_Body):
    first_name: str
    last_name: str
    email: str
    pesel: str | None = None
    nip: str | None = None
    phone: str | None = None


class UpdateCustomer(CreateCustomer):
    customer_id: str = Field(description="Required by the API; replaced by the path id")


class ChangeCustomerStatus(_Body):
    customer_id: str
    status: CustomerStatus


class Customer(_Body):
    id: str
    first_name: str
    last_name: str
    email: str
    pesel: str | None = None
    nip: str | None = None
    phone: str | None = None
    status: CustomerStatus
    created_at: str | None = None
    version: int


# --- orders ---------------------------------------------------------------------------------
class CreateOrder(_Body):
    order_number: str
    customer_id: str
    order_type: OrderType
    status: OrderStatus
    priority: OrderPriority
    total_amount: float
    currency: str | None = None
    requested_date: str | None = None
    order_channel: str | None = None
    sales_rep_id: str | None = None
    notes: str | None = None


class ChangeOrderStatus(_Body):
    id: str
    status: OrderStatus
    version: int


class Order(_Body):
    id: str
    order_number: str
    customer_id: str
    order_type: OrderType
    status: OrderStatus
    priority: OrderPriority
    total_amount: float
    currency: str | None = None
    version: int


# --- invoices -------------------------------------------------------------------------------
class CreateInvoice(_Body):
    invoice_number: str
    customer_id: str
    invoice_type: InvoiceType
    issue_date: str
    due_date: str
    subtotal: float
    tax_amount: float
    total_amount: float
    currency: str | None = None
    payment_terms: int | None = None
    notes: str | None = None
    billing_period_start: str | None = None
    billing_period_end: str | None = None


class UpdateInvoice(CreateInvoice):
    id: str
    version: int


class ChangeInvoiceStatus(_Body):
    id: str
    status: InvoiceStatus
    version: int
    paid_date: str | None = None
    sent_to_email: str | None = None


class Invoice(_Body):
    id: str
    invoice_number: str
    customer_id: str
    invoice_type: InvoiceType
    status: InvoiceStatus
    issue_date: str
    due_date: str
    total_amount: float
    version: int


# --- payments -------------------------------------------------------------------------------
class CreatePayment(_Body):
    customer_id: str
    invoice_id: str | None = None
    amount: float
    currency: str
    payment_method: PaymentMethod
    payment_date: str
    reference_number: str | None = None
    notes: str | None = None


class UpdatePayment(_Body):
    id: str
    amount: float | None = None
    currency: str | None = None
    payment_method: PaymentMethod | None = None
    payment_date: str | None = None
    reference_number: str | None = None
    notes: str | None = None


class ChangePaymentStatus(_Body):
    id: str
    status: PaymentStatus
    reason: str | None = None


class Payment(_Body):
    id: str
    payment_number: str
    customer_id: str
    invoice_id: str | None = None
    amount: float
    currency: str
    payment_method: PaymentMethod
    payment_status: PaymentStatus
    reference_number: str | None = None
    version: int | None = None


# --- products -------------------------------------------------------------------------------
class CreateProduct(_Body):
    product_code: str
    name: str
    description: str | None = None
    product_type: ProductType
    category: ProductCategory | None = None
    price: float
    currency: str | None = None
    billing_period: str
    status: ProductStatus | None = None
    validity_start: str | None = None
    validity_end: str | None = None


class UpdateProduct(CreateProduct):
    id: str
    version: int
    status: ProductStatus


class ChangeProductStatus(_Body):
    id: str
    status: ProductStatus
    version: int


class Product(_Body):
    id: str
    product_code: str
    name: str
    product_type: ProductType
    category: ProductCategory | None = None
    price: float
    billing_period: str | None = None
    status: ProductStatus
    version: int


# --- services -------------------------------------------------------------------------------
class ServiceEntity(_Body):
    id: str
    service_code: str
    name: str
    service_type: ServiceType | None = None
    category: str | None = None
    status: ServiceStatus
    depends_on_service_codes: list[str] | None = None
    auto_provision: bool | None = None


class ActivateService(_Body):
    customer_id: str
    service_code: str
    correlation_id: str | None = None
    scheduled_date: str | None = None
    activation_notes: str | None = None


class DeactivateService(_Body):
    activation_id: str
    deactivation_notes: str | None = None


class ActivationStep(_Body):
    step_order: int
    step_name: str
    status: ActivationStepStatus


class ServiceActivation(_Body):
    id: str
    customer_id: str
    service_code: str
    status: ActivationStatus
    correlation_id: str | None = None
    steps: list[ActivationStep] = []


class Eligibility(_Body):
    eligible: bool
    reason: str | None = None


# --- assets ---------------------------------------------------------------------------------
class CreateAsset(_Body):
    asset_tag: str
    asset_type: AssetType
    name: str
    description: str | None = None
    serial_number: str | None = None
    model_number: str | None = None
    manufacturer: str | None = None
    purchase_date: str | None = None
    warranty_expiry: str | None = None
    location: str | None = None
    cost_center: str | None = None
    notes: str | None = None


class AssignAsset(_Body):
    assigned_to_type: str
    assigned_to_id: str
    assigned_to_name: str


class Asset(_Body):
    id: str
    asset_tag: str
    asset_type: AssetType
    name: str
    status: AssetStatus
    assigned_to_type: str | None = None
    assigned_to_id: str | None = None
    warranty_expiry: str | None = None


class CreateNetworkElement(_Body):
    element_id: str
    element_type: str
    name: str
    description: str | None = None
    ip_address: str | None = None
    mac_address: str | None = None
    firmware_version: str | None = None
    location: str | None = None
    port_count: int | None = None
    status: str | None = None


class NetworkElement(_Body):
    id: str
    element_id: str
    element_type: str
    name: str
    status: str | None = None


class CreateSimCard(_Body):
    iccid: str
    msisdn: str | None = None
    imsi: str | None = None
    network_operator: str | None = None
    apn: str | None = None
    status: SimStatus | None = None


class SimCard(_Body):
    id: str
    iccid: str
    msisdn: str | None = None
    status: SimStatus | None = None
    assigned_to_id: str | None = None


# --- subscriptions --------------------------------------------------------------------------
class CreateSubscription(_Body):
    customer_id: str
    product_id: str
    order_id: str | None = None
    start_date: str
    billing_start: str
    end_date: str | None = None
    next_billing_date: str | None = None
    billing_period: str
    price: float
    currency: str | None = None
    auto_renew: bool | None = None


class UpdateSubscription(_Body):
    id: str | None = None
    end_date: str | None = None
    next_billing_date: str | None = None
    price: float | None = None
    currency: str | None = None
    billing_period: str | None = None


class ChangeSubscriptionStatus(_Body):
    id: str
    status: SubscriptionStatus
    reason: str | None = None


class Subscription(_Body):
    id: str
    subscription_number: str
    customer_id: str
    product_id: str
    order_id: str | None = None
    status: SubscriptionStatus
    price: float
    billing_period: str | None = None
    version: int | None = None
