"""The app's MCP server (Gradio's own): its tools are the named endpoints, described for an agent."""

import asyncio
import json
import urllib.request


def test_the_schema_lists_the_endpoints_with_descriptions(launched_app):
    with urllib.request.urlopen(f"{launched_app}gradio_api/mcp/schema", timeout=30) as response:
        tools = {tool["name"]: tool for tool in json.loads(response.read())}
    for endpoint in ("compare", "attention", "distill", "bench", "evaluate"):
        assert any(endpoint in name for name in tools), (endpoint, sorted(tools))
    compare = next(tool for name, tool in tools.items() if "compare" in name)
    assert "both models' predictions" in compare["description"] and "latency" in compare["description"]


def test_an_agent_lists_the_tools_and_calls_compare(launched_app):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def session_calls():
        url = f"{launched_app}gradio_api/mcp/"
        async with streamable_http_client(url) as (read, write, _), ClientSession(read, write) as session:
            await session.initialize()
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            name = next(name for name in tools if name.endswith("compare"))
            arguments = {"task": "fill-mask", "text": "The [MASK] sat on the mat.", "top_k": 3, "repeats": 2}
            return tools, await session.call_tool(name, arguments)

    tools, result = asyncio.run(session_calls())
    assert any(name.endswith("distill") for name in tools)
    text = "\n".join(part.text for part in result.content if getattr(part, "text", None))
    assert not result.isError, text
    assert "### DistilBERT:" in text and "latency_ms" in text  # the verdict and the JSON result come back
