# A deployment imports by namespace/name. Import fills every field a person or tool set
# (not Kubernetes' own controllers), so a matching configuration then plans nothing.
terraform import slipway_deployment.web shop/web
