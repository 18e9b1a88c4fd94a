"""`make install` ends here: fail early if a server binary is missing."""

from tools.servers import nats_server_binary, redis_server_binary

if __name__ == "__main__":
    for binary in (nats_server_binary(), redis_server_binary()):
        print(f"found {binary}")
