from services.ops.app import service

service.run()
