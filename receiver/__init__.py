"""The receiver Okta's event hooks call: a Starlette app in one process over the store's writer.

``receiver.app.create_app`` composes it; ``receiver.server.run_receiver`` runs it under uvicorn.
"""
