terraform import edgeplane_module.sensor berlin-gw-1/sensor
