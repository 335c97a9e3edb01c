"""Matrix Synapse behind the connector protocol.

`connector.MatrixConnector` implements `PlatformConnector` over the Synapse admin API and the
client-server API with an admin access token; `module.TrustdeskModule` is a Synapse module (loaded with
``modules:`` in ``homeserver.yaml``) that keeps the content stream Trustdesk reads and refuses media
uploads whose SHA-256 is on a block-list. The module imports nothing of Trustdesk and imports Synapse
lazily, so this package stays importable without Synapse. See ``docs/matrix.md``.
"""
