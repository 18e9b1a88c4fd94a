from services.history.app import service

service.run()
