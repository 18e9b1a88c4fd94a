from services.gateway.app import service

service.run()
