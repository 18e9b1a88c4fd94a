from services.github_sync.app import service

service.run()
