import HTTPServer
import Glibc
var router = Router()
router.post("/echo") { request in Response(status: .created, contentType: "application/octet-stream", bytes: request.body) }
let server = Server(configuration: Configuration(port: 8089), responder: router.build())
try server.start()
sleep(30)
