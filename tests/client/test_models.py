"""Models: valid and invalid bodies; a failure message names the field."""

import pydantic
import pytest

from bss_loadtest.client import models as m
from bss_loadtest.client.validation import validation_message

CUSTOMER = (b'{"id":"7d3c","firstName":"Anna","lastName":"Lt1","email":"a@b.c","status":"ACTIVE",'
            b'"statusDisplayName":"Aktywny","version":0,"extra":1}')


def page(content: bytes) -> bytes:
    return (b'{"content":[' + content + b'],"page":0,"size":20,"totalElements":1,"totalPages":1,'
            b'"first":true,"last":true,"empty":false}')


def test_valid_customer_and_unknown_fields_ignored():
    customer = m.Customer.model_validate_json(CUSTOMER)
    assert customer.first_name == "Anna" and customer.version == 0


def test_page_of_customers():
    parsed = m.Page[m.Customer].model_validate_json(page(CUSTOMER))
    assert parsed.content[0].email == "a@b.c" and parsed.total_elements == 1


def test_missing_field_in_page_names_the_path():
    body = page(CUSTOMER.replace(b'"email":"a@b.c",', b""))
    with pytest.raises(pydantic.ValidationError) as info:
        m.Page[m.Customer].model_validate_json(body)
    assert validation_message(200, info.value) == "HTTP 200 body invalid: content[0].email: Field required"


def test_bad_enum_names_the_field_and_allowed_values():
    with pytest.raises(pydantic.ValidationError) as info:
        m.Customer.model_validate_json(CUSTOMER.replace(b'"ACTIVE"', b'"BLOCKED"'))
    message = validation_message(200, info.value)
    assert message.startswith("HTTP 200 body invalid: status: Input should be 'ACTIVE'")
    assert "BLOCKED" not in message  # the input is not echoed (it could be an id)


def test_payment_uses_payment_status():
    with pytest.raises(pydantic.ValidationError) as info:
        m.Payment.model_validate_json(b'{"id":"1","paymentNumber":"P","customerId":"c","amount":1,"currency":"PLN",'
                                      b'"paymentMethod":"CARD","status":"PENDING"}')
    assert "paymentStatus: Field required" in validation_message(200, info.value)


def test_empty_body_is_invalid():
    with pytest.raises(pydantic.ValidationError) as info:
        m.Customer.model_validate_json(b"")
    assert validation_message(200, info.value).startswith("HTTP 200 body invalid: (body): ")


def test_list_model():
    adapter = pydantic.TypeAdapter(list[m.Asset])
    assets = adapter.validate_json(b'[{"id":"1","assetTag":"T","assetType":"ROUTER","name":"r","status":"AVAILABLE"}]')
    assert assets[0].asset_tag == "T"


def test_request_bodies_serialise_with_contract_names_and_no_nulls():
    body = m.CreateCustomer(first_name="Anna", last_name="Nowak", email="a@b.c").to_json()
    assert body == b'{"firstName":"Anna","lastName":"Nowak","email":"a@b.c"}'
    status = m.ChangeOrderStatus(id="x", status="PENDING", version=3).to_json()
    assert status == b'{"id":"x","status":"PENDING","version":3}'


def test_request_models_reject_bad_enums():
    with pytest.raises(pydantic.ValidationError):
        m.ChangeOrderStatus(id="x", status="SHIPPED", version=0)
