"""What the server measures and how it is scraped: the Prometheus types (`prometheus`), the gateway's
metrics and the HTTP endpoint that serves them (`server`). A neutral layer: the streaming core, the
transports and the CLI all import it; it imports none of them."""
from signstream.metrics.prometheus import CONTENT_TYPE, Counter, Gauge, Histogram, Registry
from signstream.metrics.server import GatewayMetrics, MetricsServer

__all__ = ["CONTENT_TYPE", "Counter", "Gauge", "GatewayMetrics", "Histogram", "MetricsServer", "Registry"]
