"""ERP connectors: one module per ERP behind connectors.erp.base.ErpConnector."""
