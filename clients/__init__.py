"""Client library for the SignStream gRPC gateway (lands with the gateway issue)."""
