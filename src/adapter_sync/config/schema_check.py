"""GENERATED from schemas/connectors.schema.json by fastjsonschema 2.22.3: do not edit.

Regenerate with ``python tests/unit/test_config_fastcheck.py`` (a test fails when this file is not
what the schema generates). ``validate`` checks a whole file, ``validate___definitions_connector``
one connector; both raise :class:`JsonSchemaValueException` on the first violation.
"""
# ruff: noqa
# mypy: ignore-errors
# fmt: off
VERSION = "2.22.3"
from decimal import Decimal
import re


class JsonSchemaValueException(ValueError):
    """The value breaks the schema."""


class JsonSchemaValuesException(JsonSchemaValueException):
    """Several values break the schema."""


REGEX_PATTERNS = {
    '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$': re.compile('^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\\Z')
}

NoneType = type(None)

def validate(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object")
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data_keys = set(data.keys())
        if "version" in data_keys:
            data_keys.remove("version")
            data__version = data["version"]
            if not isinstance(data__version, (int, NoneType)) and not (isinstance(data__version, float) and data__version.is_integer()) or isinstance(data__version, bool):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".version must be integer or null")
            if not (isinstance(data__version, (int, float)) and not isinstance(data__version, bool) and data__version == 1 or data__version is None):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".version must be one of [1, None]")
        if "requires" in data_keys:
            data_keys.remove("requires")
            data__requires = data["requires"]
            if not isinstance(data__requires, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".requires must be string or null")
            if isinstance(data__requires, str):
                data__requires_len = len(data__requires)
                if data__requires_len < 1:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".requires must be longer than or equal to 1 characters")
        if "prune" in data_keys:
            data_keys.remove("prune")
            data__prune = data["prune"]
            if not isinstance(data__prune, (bool, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".prune must be boolean or null")
        if "ignore" in data_keys:
            data_keys.remove("ignore")
            data__ignore = data["ignore"]
            if not isinstance(data__ignore, (list, tuple, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".ignore must be array or null")
            data__ignore_is_list = isinstance(data__ignore, (list, tuple))
            if data__ignore_is_list:
                data__ignore_len = len(data__ignore)
                for data__ignore_x, data__ignore_item in enumerate(data__ignore):
                    if not isinstance(data__ignore_item, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".ignore[{data__ignore_x}]".format(**locals()) + " must be string")
                    if isinstance(data__ignore_item, str):
                        data__ignore_item_len = len(data__ignore_item)
                        if data__ignore_item_len < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".ignore[{data__ignore_x}]".format(**locals()) + " must be longer than or equal to 1 characters")
        if "protect" in data_keys:
            data_keys.remove("protect")
            data__protect = data["protect"]
            if not isinstance(data__protect, (list, tuple, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".protect must be array or null")
            data__protect_is_list = isinstance(data__protect, (list, tuple))
            if data__protect_is_list:
                data__protect_len = len(data__protect)
                for data__protect_x, data__protect_item in enumerate(data__protect):
                    if not isinstance(data__protect_item, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".protect[{data__protect_x}]".format(**locals()) + " must be string")
                    if isinstance(data__protect_item, str):
                        data__protect_item_len = len(data__protect_item)
                        if data__protect_item_len < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".protect[{data__protect_x}]".format(**locals()) + " must be longer than or equal to 1 characters")
        if "safety" in data_keys:
            data_keys.remove("safety")
            data__safety = data["safety"]
            if not isinstance(data__safety, (dict, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".safety must be object or null")
            data__safety_is_dict = isinstance(data__safety, dict)
            if data__safety_is_dict:
                data__safety_keys = set(data__safety.keys())
                if "max_deactivate_percent" in data__safety_keys:
                    data__safety_keys.remove("max_deactivate_percent")
                    data__safety__maxdeactivatepercent = data__safety["max_deactivate_percent"]
                    if not isinstance(data__safety__maxdeactivatepercent, (int, float, Decimal)) or isinstance(data__safety__maxdeactivatepercent, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".safety.max_deactivate_percent must be number")
                    if isinstance(data__safety__maxdeactivatepercent, (int, float, Decimal)) and not isinstance(data__safety__maxdeactivatepercent, bool):
                        if data__safety__maxdeactivatepercent < 0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".safety.max_deactivate_percent must be bigger than or equal to 0")
                        if data__safety__maxdeactivatepercent > 100:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".safety.max_deactivate_percent must be smaller than or equal to 100")
                else: data__safety["max_deactivate_percent"] = 30
                if "min_active" in data__safety_keys:
                    data__safety_keys.remove("min_active")
                    data__safety__minactive = data__safety["min_active"]
                    if not isinstance(data__safety__minactive, (int)) and not (isinstance(data__safety__minactive, float) and data__safety__minactive.is_integer()) or isinstance(data__safety__minactive, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".safety.min_active must be integer")
                    if isinstance(data__safety__minactive, (int, float, Decimal)) and not isinstance(data__safety__minactive, bool):
                        if data__safety__minactive < 0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".safety.min_active must be bigger than or equal to 0")
                else: data__safety["min_active"] = 10
                if "small_account_percent" in data__safety_keys:
                    data__safety_keys.remove("small_account_percent")
                    data__safety__smallaccountpercent = data__safety["small_account_percent"]
                    if not isinstance(data__safety__smallaccountpercent, (int, float, Decimal)) or isinstance(data__safety__smallaccountpercent, bool):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".safety.small_account_percent must be number")
                    if isinstance(data__safety__smallaccountpercent, (int, float, Decimal)) and not isinstance(data__safety__smallaccountpercent, bool):
                        if data__safety__smallaccountpercent < 0:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".safety.small_account_percent must be bigger than or equal to 0")
                        if data__safety__smallaccountpercent > 100:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".safety.small_account_percent must be smaller than or equal to 100")
                else: data__safety["small_account_percent"] = 50
                if data__safety_keys:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".safety must not contain "+str(data__safety_keys)+" properties")
        if "policy" in data_keys:
            data_keys.remove("policy")
            data__policy = data["policy"]
            if not isinstance(data__policy, (list, tuple, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".policy must be array or null")
            data__policy_is_list = isinstance(data__policy, (list, tuple))
            if data__policy_is_list:
                data__policy_len = len(data__policy)
                for data__policy_x, data__policy_item in enumerate(data__policy):
                    validate___definitions_policy_entry(data__policy_item, custom_formats, (name_prefix or "data") + ".policy[{data__policy_x}]".format(**locals()))
        if "defaults" in data_keys:
            data_keys.remove("defaults")
            data__defaults = data["defaults"]
            if not isinstance(data__defaults, (dict, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".defaults must be object or null")
            data__defaults_is_dict = isinstance(data__defaults, dict)
            if data__defaults_is_dict:
                data__defaults_keys = set(data__defaults.keys())
                if "accepted_kinds" in data__defaults_keys:
                    data__defaults_keys.remove("accepted_kinds")
                    data__defaults__acceptedkinds = data__defaults["accepted_kinds"]
                    validate___definitions_accepted_kinds(data__defaults__acceptedkinds, custom_formats, (name_prefix or "data") + ".defaults.accepted_kinds")
                if "metadata" in data__defaults_keys:
                    data__defaults_keys.remove("metadata")
                    data__defaults__metadata = data__defaults["metadata"]
                    validate___definitions_metadata(data__defaults__metadata, custom_formats, (name_prefix or "data") + ".defaults.metadata")
                if data__defaults_keys:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".defaults must not contain "+str(data__defaults_keys)+" properties")
        if "connectors" in data_keys:
            data_keys.remove("connectors")
            data__connectors = data["connectors"]
            if not isinstance(data__connectors, (dict, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".connectors must be object or null")
            data__connectors_is_dict = isinstance(data__connectors, dict)
            if data__connectors_is_dict:
                data__connectors_keys = set(data__connectors.keys())
                for data__connectors_key in data__connectors_keys:
                    if data__connectors_key not in []:
                        data__connectors_value = data__connectors.get(data__connectors_key)
                        validate___definitions_connector(data__connectors_value, custom_formats, (name_prefix or "data") + ".connectors.{data__connectors_key}".format(**locals()))
                data__connectors_len = len(data__connectors)
                if data__connectors_len != 0:
                    data__connectors_property_names = True
                    for data__connectors_key in data__connectors:
                        try:
                            validate___definitions_source_name(data__connectors_key, custom_formats, (name_prefix or "data") + ".connectors")
                        except (JsonSchemaValueException, JsonSchemaValuesException):
                            data__connectors_property_names = False
                    if not data__connectors_property_names:
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".connectors must be named by propertyName definition")
        if data_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must not contain "+str(data_keys)+" properties")
    return data

def validate___definitions_source_name(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (str)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be string")
    if isinstance(data, str):
        if not REGEX_PATTERNS['^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'].search(data):
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must match pattern ^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
    return data

def validate___definitions_connector(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object")
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data__missing_keys = set(['name']) - data.keys()
        if data__missing_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must contain ")
        data_keys = set(data.keys())
        if "name" in data_keys:
            data_keys.remove("name")
            data__name = data["name"]
            if not isinstance(data__name, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".name must be string")
            if isinstance(data__name, str):
                data__name_len = len(data__name)
                if data__name_len < 1:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".name must be longer than or equal to 1 characters")
                if data__name_len > 255:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".name must be shorter than or equal to 255 characters")
        if "accepted_kinds" in data_keys:
            data_keys.remove("accepted_kinds")
            data__acceptedkinds = data["accepted_kinds"]
            validate___definitions_accepted_kinds(data__acceptedkinds, custom_formats, (name_prefix or "data") + ".accepted_kinds")
        if "metadata" in data_keys:
            data_keys.remove("metadata")
            data__metadata = data["metadata"]
            validate___definitions_metadata(data__metadata, custom_formats, (name_prefix or "data") + ".metadata")
        if "active" in data_keys:
            data_keys.remove("active")
            data__active = data["active"]
            if not isinstance(data__active, (bool, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".active must be boolean or null")
        if data_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must not contain "+str(data_keys)+" properties")
    return data

def validate___definitions_metadata(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict, NoneType)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object or null")
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data_len = len(data)
        if data_len > 20:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must contain less than or equal to 20 properties")
        data_keys = set(data.keys())
        for data_key in data_keys:
            if data_key not in []:
                data_value = data.get(data_key)
                if not isinstance(data_value, (str)):
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".{data_key}".format(**locals()) + " must be string")
    return data

def validate___definitions_accepted_kinds(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (list, tuple, NoneType)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be array or null")
    data_is_list = isinstance(data, (list, tuple))
    if data_is_list:
        def fn(var): return frozenset(dict((k, fn(v)) for k, v in var.items()).items()) if hasattr(var, "items") else tuple(fn(v) for v in var) if isinstance(var, (dict, list)) else (bool, var) if isinstance(var, bool) else var
        data_len = len(data)
        if data_len > len(set(fn(data_x) for data_x in data)):
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must contain unique items")
        for data_x, data_item in enumerate(data):
            validate___definitions_kind(data_item, custom_formats, (name_prefix or "data") + "[{data_x}]".format(**locals()))
    return data

def validate___definitions_kind(data, custom_formats={}, name_prefix=None):
    if not (isinstance(data, str) and data == 'email' or isinstance(data, str) and data == 'page' or isinstance(data, str) and data == 'message' or isinstance(data, str) and data == 'calendar' or isinstance(data, str) and data == 'issue' or isinstance(data, str) and data == 'custom'):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be one of ['email', 'page', 'message', 'calendar', 'issue', 'custom']")
    return data

def validate___definitions_policy_entry(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object")
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data_keys = set(data.keys())
        if "schema" in data_keys:
            data_keys.remove("schema")
            data__schema = data["schema"]
            if not isinstance(data__schema, (dict, bool, str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".schema must be object or boolean or string")
            if isinstance(data__schema, str):
                data__schema_len = len(data__schema)
                if data__schema_len < 1:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".schema must be longer than or equal to 1 characters")
            data__schema_is_dict = isinstance(data__schema, dict)
            if data__schema_is_dict:
                data__schema_keys = set(data__schema.keys())
        if "match" in data_keys:
            data_keys.remove("match")
            data__match = data["match"]
            if not isinstance(data__match, (list, tuple, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".match must be array or null")
            data__match_is_list = isinstance(data__match, (list, tuple))
            if data__match_is_list:
                data__match_len = len(data__match)
                for data__match_x, data__match_item in enumerate(data__match):
                    if not isinstance(data__match_item, (str)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".match[{data__match_x}]".format(**locals()) + " must be string")
                    if isinstance(data__match_item, str):
                        data__match_item_len = len(data__match_item)
                        if data__match_item_len < 1:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".match[{data__match_x}]".format(**locals()) + " must be longer than or equal to 1 characters")
        if "message" in data_keys:
            data_keys.remove("message")
            data__message = data["message"]
            if not isinstance(data__message, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".message must be string or null")
            if isinstance(data__message, str):
                data__message_len = len(data__message)
                if data__message_len < 1:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".message must be longer than or equal to 1 characters")
        if "severity" in data_keys:
            data_keys.remove("severity")
            data__severity = data["severity"]
            if not isinstance(data__severity, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".severity must be string or null")
            if not (isinstance(data__severity, str) and data__severity == 'error' or isinstance(data__severity, str) and data__severity == 'warning' or data__severity is None):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".severity must be one of ['error', 'warning', None]")
        if "include" in data_keys:
            data_keys.remove("include")
            data__include = data["include"]
            if not isinstance(data__include, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".include must be string")
            if isinstance(data__include, str):
                data__include_len = len(data__include)
                if data__include_len < 1:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".include must be longer than or equal to 1 characters")
        if data_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must not contain "+str(data_keys)+" properties")
    return data
