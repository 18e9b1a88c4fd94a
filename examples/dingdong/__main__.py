from examples.dingdong.app import service

service.run()
