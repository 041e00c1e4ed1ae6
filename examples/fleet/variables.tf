variable "fleet" {
  description = "Name of the fleet, set as the fleet tag of every gateway."
  type        = string
  default     = "cold-chain"
}

variable "sites" {
  description = "Sites by name: how many gateways each has and how its modules are tuned."
  type = map(object({
    gateways          = number
    threshold_celsius = number
    interval_ms       = number
  }))
  default = {
    berlin = { gateways = 3, threshold_celsius = 8, interval_ms = 1000 }
    lyon   = { gateways = 2, threshold_celsius = 8, interval_ms = 2000 }
    oslo   = { gateways = 1, threshold_celsius = 4, interval_ms = 5000 }
  }
}

variable "registry" {
  description = "Registry that serves the module images, as host:port."
  type        = string
  default     = "registry.local:5000"
}

variable "sensor_version" {
  description = "Tag of the sensor image."
  type        = string
  default     = "1.4.0"
}

variable "filter_version" {
  description = "Tag of the filter image."
  type        = string
  default     = "2.0.1"
}

variable "upstream_url" {
  description = "MQTT broker for alerts (mqtts://host:port); empty keeps alerts queued on the gateways."
  type        = string
  default     = ""
}

variable "upstream_password" {
  description = "Password of every gateway at the upstream broker."
  type        = string
  default     = null
  sensitive   = true
}
