terraform import edgeplane_module_twin.sensor berlin-gw-1/sensor
