"""The national interface in OpenAPI: one route per URL form, so each message's input and output
models are listed as components and mapped by ``infno`` (``x-transactions``)."""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gongji import nhsa_format as f
from gongji.api.nhsa.registry import TRANSACTIONS


@cache
def outputs() -> dict[str, type[BaseModel]]:
    """The output model of each transaction."""
    settle, empty = f.SettleOut, f.Empty
    return {"9001": f.Out9001, "9002": f.Out9002, "1101": f.Out1101, "2201": f.Out2201, "2202": empty,
            "2203": empty, "2203A": empty, "2204": f.Out2204, "2205": empty, "2206": settle, "2207": settle,
            "2208": settle, "2601": empty, "5203": f.query_out(), "3201": f.Out3201, "2101": settle,
            "2102": settle, "2103": settle}


def document(schema: dict) -> dict:
    """Add every message model to ``components`` and the infno → (input, output) map."""
    models = [f.Envelope, f.Reply] + [t.model for t in TRANSACTIONS.values() if t.model is not None] \
        + list(outputs().values())
    unique = list(dict.fromkeys(models))
    _, defs = models_json_schema([(mdl, "validation") for mdl in unique], ref_template="#/components/schemas/{model}")
    schema.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
    schema["x-transactions"] = {
        infno: {"name": t.name, "input": f"#/components/schemas/{t.model.__name__}" if t.model else None,
                "output": f"#/components/schemas/{outputs()[infno].__name__}" if infno in outputs() else None}
        for infno, t in sorted(TRANSACTIONS.items())}
    body = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}}
    reply = {"description": "应答报文(总是 HTTP 200;infcode 0 成功,−1 失败,err_msg 为中文原因)",
             "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Reply"}}}}
    for path in ("/nhsa", "/nhsa/{infno}"):
        op = schema.get("paths", {}).get(path, {}).get("post")
        if op is not None:
            op["requestBody"] = body
            op["responses"] = {"200": reply}
            op["description"] = "交易编号与各交易的输入、输出模型见 x-transactions;docs/nhsa.md 逐字段说明。"
    return schema
