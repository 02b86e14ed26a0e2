"""Reading a Bot API call the way Telegram does: query string, form, multipart or JSON body.

aiogram 3 posts `FormData`: url-encoded when there is no file, multipart when there is; nested values
(reply_markup, entities, commands, scope, allowed_updates) are JSON strings, numbers and booleans are
their JSON text, and an uploaded file is referenced as `attach://<part name>`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

# Parameters whose form value is JSON text; everything else stays the string it was sent as.
JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "message_ids",
    }
)


class BadParameter(ValueError):
    """A parameter Telegram would reject; the text is the API's `description`."""


@dataclass(frozen=True)
class UploadedFile:
    data: bytes
    filename: str | None
    content_type: str | None


@dataclass
class ApiRequest:
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.params.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool):
            raise BadParameter(f"Bad Request: invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise BadParameter(f"Bad Request: invalid {name} specified") from None

    def get_str(self, name: str) -> str | None:
        value = self.params.get(name)
        return None if value is None else str(value)

    def get_bool(self, name: str) -> bool:
        value = self.params.get(name, False)
        if isinstance(value, str):
            return value.lower() in {"true", "1"}
        return bool(value)

    def chat_id(self) -> int:
        value = self.params.get("chat_id")
        if value is None or value == "":
            raise BadParameter("Bad Request: chat_id is empty")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise BadParameter("Bad Request: chat not found") from None

    def file(self, name: str) -> UploadedFile | str | None:
        """An uploaded file (direct part or `attach://`), else the string given (a file_id or URL)."""
        if name in self.files:
            return self.files[name]
        value = self.params.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            attached = self.files.get(value.removeprefix("attach://"))
            if attached is None:
                raise BadParameter(f"Bad Request: file {value} not found in the request")
            return attached
        return None if value is None else str(value)


def _decode(name: str, value: str) -> Any:
    if name in JSON_PARAMS:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise BadParameter(f"Bad Request: can't parse {name} JSON object") from None
    return value


async def read_request(request: web.Request, method: str) -> ApiRequest:
    api = ApiRequest(method=method)
    for name, value in request.query.items():
        api.params[name] = _decode(name, value)
    if request.method != "POST" or not request.can_read_body:
        return api
    content_type = request.content_type
    if content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise BadParameter("Bad Request: the request body must be a JSON object")
        api.params.update(body)
    elif content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            raw = await part.read()
            if part.filename is not None:
                api.files[part.name] = UploadedFile(
                    data=bytes(raw), filename=part.filename, content_type=part.headers.get("Content-Type")
                )
            else:
                api.params[part.name] = _decode(part.name, bytes(raw).decode("utf-8"))
    else:
        form = await request.post()
        for field_name, field_value in form.items():
            if isinstance(field_value, web.FileField):
                api.files[field_name] = UploadedFile(
                    field_value.file.read(), field_value.filename, field_value.content_type
                )
            elif isinstance(field_value, str):
                api.params[field_name] = _decode(field_name, field_value)
            else:
                api.params[field_name] = _decode(field_name, bytes(field_value).decode("utf-8"))
    return api
