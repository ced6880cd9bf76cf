import HTTPServer
import Glibc
var router = Router()
router.get("/healthz", options: .inline) { _ in .text("ok\n") }
router.post("/echo") { r in .text(r.bodyText) }
router.get("/stream") { _ in Response(status: .ok, body: .stream({ w in for i in 0..<100000 { try w.write("row \(i)\n") } })) }
let server = Server(configuration: Configuration(port: 8088), responder: router.build())
try server.start()
sleep(600)
