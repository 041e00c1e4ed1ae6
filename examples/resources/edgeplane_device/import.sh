terraform import edgeplane_device.gw berlin-gw-1
