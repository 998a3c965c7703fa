"""The governed approval core: policy, routing, workflow, delegation, audit.

Nothing in this package imports a chat SDK, an HTTP framework, an ERP or an LLM client.
"""
