terraform import edgeplane_device_upstream.gw berlin-gw-1
