terraform import edgeplane_route.sensor_to_filter berlin-gw-1/sensor-to-filter
