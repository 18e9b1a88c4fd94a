from services.tagger.app import service

service.run()
