# Opens N connections that each ask for a page of messages and then never
# read it, with a receive buffer of 4 KiB so that the kernel holds little of
# the page and the server must (Node cannot shrink a socket's receive buffer,
# hence Python). Waits, then reports the status line each connection got and
# how many of those answered 200 the server had closed: reading what is
# buffered then ends in EOF. Usage: stalled-readers.py PORT TOKEN PATH N WAIT_SECONDS
import json, socket, sys, time

port, token, path, count, wait = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
request = f'GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n'.encode()
sockets = []
for _ in range(count):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(('127.0.0.1', port))
    s.sendall(request)
    sockets.append(s)
print('sent', flush=True)
time.sleep(wait)
statuses, closed = {}, 0
for s in sockets:
    s.settimeout(0.5)
    try:
        status = s.recv(12).decode('latin1')
        statuses[status] = statuses.get(status, 0) + 1
        if status.endswith('200'):
            while s.recv(1 << 20):
                pass
            closed += 1
    except ConnectionResetError:
        closed += 1
    except OSError:
        pass
    s.close()
print(json.dumps({'statuses': statuses, 'closed': closed}), flush=True)
