"""A local stand-in for dYdX v4: indexer REST/WS, node gRPC and a matching and margin engine."""
