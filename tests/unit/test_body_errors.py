"""What a client is told about a bad body, and the sync schema-version rule: pure, no server."""

from __future__ import annotations

import msgspec
import pytest

from backend.http.body_errors import field_error, is_empty_object, malformed, syntax_error
from backend.worklog.schemas import EntryCreate, EntryPatch
from sync.server.protocol import (
    SCHEMA_VERSION,
    PushRequest,
    SchemaVersionUnsupported,
    check_schema_version,
    probe_schema_version,
)


def _validation(body: bytes, kind: type) -> msgspec.ValidationError:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.json.Decoder(kind, strict=True).decode(body)
    return caught.value


def test_an_unknown_top_level_key_is_named_with_its_code() -> None:
    error = field_error(_validation(b'{"note": "a", "notes": "b"}', EntryPatch))
    assert (error.field, error.code) == ("notes", "unknown_field")


def test_an_unknown_nested_key_is_named_by_its_full_path() -> None:
    error = field_error(_validation(b'{"location": {"lat": 1, "lon": 2, "alt": 3}}', EntryPatch))
    assert (error.field, error.code) == ("location.alt", "unknown_field")


def test_an_unknown_key_in_one_mutation_names_its_index() -> None:
    body = b'{"request_id": "r", "device_id": "phone-123456", "mutations": [{"seq": 1, "kind": "create", ' \
           b'"record_id": "6f1c1f2e-8a3b-4f7e-9a51-5d2c7e0f9b11", "priority": 1}]}'
    error = field_error(_validation(body, PushRequest))
    assert (error.field, error.code) == ("mutations[0].priority", "unknown_field")


def test_missing_wrong_type_and_enum_errors_keep_their_codes() -> None:
    assert field_error(_validation(b"{}", EntryCreate)).code == "required"
    assert field_error(_validation(b'{"note": 5}', EntryPatch)).field == "note"
    assert field_error(_validation(b'{"note": 5}', EntryPatch)).code == "type"
    mutation = b'{"request_id": "r", "device_id": "phone-123456", "mutations": [{"seq": 1, "kind": "erase"}]}'
    error = field_error(_validation(mutation, PushRequest))
    assert (error.field, error.code) == ("mutations[0].kind", "invalid_choice")


def test_a_converted_mapping_reports_unknown_keys_like_a_decoded_body() -> None:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.convert({"note": "x", "status": "approved"}, EntryPatch)
    assert (field_error(caught.value).field, field_error(caught.value).code) == ("status", "unknown_field")


@pytest.mark.parametrize(("body", "detail", "position"), [
    (b'{"id": "x",', "JSON is malformed: truncated at byte 11", 11),
    (b'{"id": "x" "y"}', "JSON is malformed: expected ',' or '}' at byte 11", 11),
    (b"abc", "JSON is malformed: invalid character at byte 0", 0),
    (b'{"a": "\xff"}', "JSON is malformed: invalid UTF-8 at byte 7", 7),
    (b"   ", "JSON is malformed: the body is empty", 0),
])
def test_malformed_json_says_where_parsing_stopped(body: bytes, detail: str, position: int) -> None:
    broken = syntax_error(body)
    assert broken is not None
    assert malformed(body, broken) == (detail, position)


def test_a_body_broken_after_an_invalid_field_is_still_a_syntax_error() -> None:
    body = b'{"id": "not-a-uuid",'  # the typed decoder stops at the id; the JSON is broken further on
    assert field_error(_validation(body, EntryCreate)).field == "id"
    assert syntax_error(body) is not None


def test_readable_json_has_no_syntax_error() -> None:
    assert syntax_error(b'{"a": [1, 2, {"b": null}]}') is None


@pytest.mark.parametrize(("body", "empty"), [
    (b"", True), (b"  \n", True), (b"{}", True), (b" { } ", True),
    (b'{"reason": "x"}', False), (b"[]", False), (b"null", False), (b"{", False), (b"x", False),
])
def test_what_counts_as_no_body(body: bytes, empty: bool) -> None:
    assert is_empty_object(body) is empty


def test_a_push_for_a_newer_schema_is_held_not_dropped() -> None:
    with pytest.raises(SchemaVersionUnsupported) as caught:
        check_schema_version(SCHEMA_VERSION + 1)
    assert caught.value.status == 409
    assert caught.value.extra == {"reason": "schema_version_unsupported", "server_schema_version": SCHEMA_VERSION,
                                  "action": "hold_outbox"}


@pytest.mark.parametrize("version", [SCHEMA_VERSION, 1, None, "2", True, 0])
def test_versions_the_server_reads_or_that_are_not_numbers_pass_the_skew_check(version: object) -> None:
    check_schema_version(version)  # "2" and True are refused as types by the strict decoder, not as skew


def test_the_schema_version_is_probed_from_a_body_the_strict_decoder_refused() -> None:
    assert probe_schema_version(b'{"schema_version": 7, "a_key_from_the_future": {"x": 1}}') == 7
    assert probe_schema_version(b'{"request_id": "r"}') == 1
    assert probe_schema_version(b'{"schema_version": 7,') is None
    assert probe_schema_version(b"[1]") is None
