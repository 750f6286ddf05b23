"""The grpc.aio gateway: servicer, app wiring and Prometheus metrics."""
