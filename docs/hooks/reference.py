"""MkDocs hook: the reference parts of the docs, generated from the code at build time so they cannot drift.

`<!-- reference:cli -->` in a page becomes every command's options, read from the argparse parsers
`dogbreed-desktop CMD --help` prints; `<!-- reference:http -->` becomes every endpoint, read from the OpenAPI schema
of the app `dogbreed-desktop serve` runs (the default built-in model loaded, as `serve` loads it). The schema itself is
published beside the pages as `openapi.json`. tests/test_docs_reference.py checks the CLI part against `--help`.
"""

from __future__ import annotations

import argparse
import json

CLI_MARKER, HTTP_MARKER = "<!-- reference:cli -->", "<!-- reference:http -->"


def on_page_markdown(markdown: str, page, config, files) -> str:
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    if HTTP_MARKER in markdown:
        markdown = markdown.replace(HTTP_MARKER, http_reference(openapi_schema()))
    return markdown


def on_files(files, config):
    from mkdocs.structure.files import File

    files.append(File.generated(config, "openapi.json", content=json.dumps(openapi_schema(), indent=1)))
    return files


# --- the command line ---------------------------------------------------------------------------------------------

def parsers() -> dict[str, argparse.ArgumentParser]:
    """Command line (`dogbreed-desktop`, `dogbreed-desktop predict`, ...) -> the parser that reads it."""
    from dogbreed_desktop import cli

    found = {"dogbreed-desktop": cli._gui_parser()}
    for name in cli.SUBCOMMANDS:  # as cli._sub_parser makes each one
        found[f"dogbreed-desktop {name}"] = parser = argparse.ArgumentParser(prog=f"dogbreed-desktop {name}")
        cli._command(name).add_arguments(parser)
    return found


def cli_reference() -> str:
    from dogbreed_desktop import cli

    out = []
    for command, parser in parsers().items():
        name = command.split(" ", 1)[-1]
        summary = cli._command(name).HELP if name in cli.COMMANDS else "opens the window"
        out += [f"### `{command}`", "", _sentence(summary), "", "```text", parser.format_usage().strip(), "```", "",
                "| option | value | default | what it does |", "|---|---|---|---|"]
        formatter = parser._get_formatter()
        for action in parser._actions:
            if action.help == argparse.SUPPRESS:  # --help leaves these out too
                continue
            positional = f"`{action.metavar or action.dest}` (positional)"
            flags = ", ".join(f"`{f}`" for f in action.option_strings) or positional
            value = _value(action)
            hidden = action.default is None or action.default is False or action.default == argparse.SUPPRESS
            default = "" if hidden or not action.option_strings else f"`{action.default}`"
            if action.required and action.option_strings:
                default = "required"
            text = formatter._expand_help(action) if action.help else ""  # %(default)s etc., as --help shows it
            out.append(f"| {flags} | {value} | {default} | {_cell(text)} |")
        out.append("")
    return "\n".join(out)


def _value(action: argparse.Action) -> str:
    if action.nargs == 0:
        return ""
    if action.choices:
        value = " \\| ".join(f"`{c}`" for c in action.choices)
    else:
        value = f"`{action.metavar or action.dest.upper()}`"
    return value + (" ..." if action.nargs in ("*", "+") or isinstance(action, argparse._AppendAction) else "")


# --- the web API --------------------------------------------------------------------------------------------------

_schema: dict | None = None


def openapi_schema() -> dict:
    """The schema `serve` publishes at /openapi.json, for the default settings and the built-in model."""
    global _schema
    if _schema is None:
        from dogbreed_desktop.core.predict.classifier import Classifier
        from dogbreed_desktop.server import create_app

        app = create_app(Classifier.load())
        try:
            _schema = app.openapi()
        finally:
            app.state.close()
    return _schema


def http_reference(schema: dict) -> str:
    out, error = [], None
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            out += [f"### `{method.upper()} {path}`", "", f"**{_sentence(op.get('summary', ''))}**", ""]
            if op.get("description"):
                out += [" ".join(op["description"].split()), ""]
            params = op.get("parameters", [])
            if params:
                out += ["| parameter | in | type | default | what it does |", "|---|---|---|---|---|"]
                out += [f"| `{p['name']}` | {p['in']} | {_type(p['schema'], schema)} | "
                        f"{p['schema'].get('default', '')} | {_cell(p.get('description', ''))} |" for p in params]
                out.append("")
            body = op.get("requestBody")
            if body:
                kinds = ", ".join(f"`{k}`" for k in body["content"])
                out += [f"Request body{' (required)' if body.get('required') else ''}: {kinds}. "
                        f"{body.get('description', '')}", ""]
                form = body["content"].get("multipart/form-data", {}).get("schema")
                if form:
                    out += _fields_table(form, schema, "form field")
            out += ["| status | when |", "|---|---|"]
            for status, answer in op["responses"].items():
                headers = "".join(f"; header `{h}`: {v.get('description', '')}"
                                  for h, v in answer.get("headers", {}).items())
                out.append(f"| {status} | {_cell(answer.get('description', '') + headers)} |")
            out.append("")
            ok = op["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema")
            if ok and _resolve(ok, schema).get("properties"):
                out += ["The answer (200, `application/json`):", ""] + _fields_table(ok, schema, "field")
            for status, answer in op["responses"].items():
                if status.startswith(("4", "5")) and error is None:
                    error = answer["content"]["application/json"]["schema"]
    if error:
        out += ["### Errors", "", "Every 4xx and 5xx answer is this JSON object:", ""]
        out += _fields_table(error, schema, "field")
    return "\n".join(out)


def _fields_table(node: dict, schema: dict, title: str) -> list[str]:
    rows = [f"| {title} | type | required | what it is |", "|---|---|---|---|"]
    for name, field, required in _fields(node, schema, ""):
        rows.append(f"| `{name}` | {_type(field, schema)} | {'yes' if required else ''} | "
                    f"{_cell(field.get('description', ''))} |")
    return rows + [""]


def _fields(node: dict, schema: dict, prefix: str):
    """(dotted name, schema, required) for every property, depth first; `[]` marks the items of an array."""
    node = _resolve(node, schema)
    required = set(node.get("required", ()))
    for name, field in node.get("properties", {}).items():
        field = _resolve(field, schema)
        yield prefix + name, field, name in required
        items = _resolve(field.get("items", {}), schema)
        if field.get("type") == "array" and items.get("properties"):
            yield from _fields(items, schema, f"{prefix}{name}[].")
        elif field.get("properties"):
            yield from _fields(field, schema, f"{prefix}{name}.")


def _type(node: dict, schema: dict) -> str:
    node = _resolve(node, schema)
    if "anyOf" in node:
        return " or ".join(_type(n, schema) for n in node["anyOf"])
    kinds = node.get("type", "any")
    text = " or ".join(kinds) if isinstance(kinds, list) else kinds
    if text == "array":
        text = f"array of {_type(node.get('items', {}), schema)}"
    elif node.get("format") == "binary":
        text = "file"
    if "enum" in node:
        text += ": " + ", ".join(f"`{v}`" for v in node["enum"])
    if "minimum" in node or "maximum" in node:
        text += f" ({_num(node.get('minimum', ''))}–{_num(node.get('maximum', ''))})"
    return text


def _resolve(node: dict, schema: dict) -> dict:
    ref = node.get("$ref", "")
    if not ref:
        return node
    target = schema
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target


def _num(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".") if text else ""


def _cell(text: str) -> str:
    """Text fit for one Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")
