from services.scheduler.app import service

service.run()
