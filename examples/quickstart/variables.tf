variable "hub_endpoint" {
  type        = string
  description = "Operator API of the hub, e.g. http://127.0.0.1:18080."
}

variable "hub_token" {
  type        = string
  sensitive   = true
  description = "Operator token of the hub."
}

variable "gateways" {
  type        = list(string)
  description = "Device ids of the gateways to create."
  default     = ["gw-1", "gw-2"]
}

variable "registry" {
  type        = string
  description = "host:port of the registry that holds the example module images."
}

variable "registry_username" {
  type    = string
  default = "edgeplane"
}

variable "registry_password" {
  type      = string
  sensitive = true
}

variable "upstream_url" {
  type        = string
  description = "MQTT broker standing in for the cloud, e.g. mqtt://127.0.0.1:18830."
}

variable "threshold" {
  type        = number
  description = "Readings above this many degrees are forwarded upstream as alerts."
  default     = 30
}
