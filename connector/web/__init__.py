"""HTTP blueprints: well-known documents, protocol (DSP), trust (authority), credential service, management API,
data plane and pages."""
