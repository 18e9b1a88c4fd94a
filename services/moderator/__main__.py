from services.moderator.app import service

service.run()
