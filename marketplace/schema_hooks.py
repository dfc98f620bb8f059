"""Post-processing of the OpenAPI schema that drf-spectacular generates (`/api/schema/`).

`type_nullable_compositions`: drf-spectacular writes a nullable reference (a nullable
nested serializer, a nullable choice field) as `{"nullable": true, "allOf"/"oneOf":
[{"$ref": ...}, ...]}` without a `type`. OpenAPI 3.0.3 gives `nullable` a meaning only
beside a `type` in the same schema
object, and JSON Schema validators of OpenAPI 3.0 (Spectral's `oas3-valid-media-example`,
through ajv) refuse to compile such a schema, so no example that contains one could be
checked. This hook adds the `type` that every referenced part shares; it changes no
response, only how the schema spells it.

`document_unsupported_media_type`: every operation that reads a body answers a body in a
content type it does not read with 415 `unsupported_media_type` (DRF, before the view
runs), so the schema says so.
"""

_COMPOSITIONS = ("allOf", "oneOf", "anyOf")
_REF_PREFIX = "#/components/schemas/"


def _part_types(parts: list, components: dict) -> set[str]:
    """The `type` of each part of a composition (through `$ref`s); parts without a type,
    such as drf-spectacular's `NullEnum` (`{"enum": [null]}`), add none."""
    types = set()
    for part in parts:
        ref = part.get("$ref", "") if isinstance(part, dict) else ""
        if ref.startswith(_REF_PREFIX):
            part = components.get(ref.removeprefix(_REF_PREFIX), {})
        part_type = part.get("type") if isinstance(part, dict) else None
        if isinstance(part_type, str):
            types.add(part_type)
    return types


def _type_nullable_compositions(node, components: dict) -> None:
    if isinstance(node, dict):
        if node.get("nullable") is True and "type" not in node:
            parts = [part for key in _COMPOSITIONS for part in node.get(key, [])]
            types = _part_types(parts, components)
            if len(types) == 1:
                node["type"] = types.pop()
        for value in node.values():
            _type_nullable_compositions(value, components)
    elif isinstance(node, list):
        for value in node:
            _type_nullable_compositions(value, components)


def type_nullable_compositions(result, generator, request, public):
    """drf-spectacular POSTPROCESSING_HOOKS entry (after `postprocess_schema_enums`)."""
    components = result.get("components", {}).get("schemas", {})
    _type_nullable_compositions(result, components)
    return result


_ERROR_BODY = {"application/json": {"schema": {"$ref": _REF_PREFIX + "Error"}}}


def document_unsupported_media_type(result, generator, request, public):
    """drf-spectacular POSTPROCESSING_HOOKS entry: a 415 for every operation with a body."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation["responses"].setdefault(
                    "415",
                    {
                        "description": "`unsupported_media_type`: a body in a content type "
                        "this operation does not read.",
                        "content": _ERROR_BODY,
                    },
                )
    return result
