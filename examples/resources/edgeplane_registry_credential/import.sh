terraform import edgeplane_registry_credential.local berlin-gw-1/local
