"""The company directory from an identity provider: Microsoft Entra ID through Microsoft Graph (docs/directory.md)."""
