"""Boot test of the qemu-aarch64 image, run by firmware/test-boot.

Boots a copy of the image under qemu-system-aarch64 (software emulation) with restrict=on
user networking and a 127.0.0.1-only forward of the viewer port, and drives the guest's
serial console over a Unix socket. The monitor NIC is a QEMU UDP socket netdev on 127.0.0.1:
each datagram the test sends to it is one Ethernet frame on the guest's monitor interface.
First boot gets no password. The test reads the one-time setup code from the console and
creates the admin on /setup. Before the second boot it deletes the users and places a password
hash file on the boot partition, the other way to get the first admin.
"""

import atexit
import http.client
import json
import os
import re
import secrets
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

DEADLINE_S = 240
# The MAC addresses of QEMU's NICs, as firmware/test-boot writes them into trailwatch.txt.
MANAGEMENT_MAC = "52:54:00:74:77:01"
MONITOR_MAC = "52:54:00:74:77:02"


def log(message):
    print(f"test-boot: {message}", flush=True)


def free_port(kind):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pcap_frames(path):
    """Yields the frames of a classic pcap file with Ethernet link type."""
    with open(path, "rb") as f:
        header = f.read(24)
        magic = struct.unpack("<I", header[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        link_type = struct.unpack(endian + "I", header[20:24])[0]
        if link_type != 1:
            raise SystemExit(f"{path}: link type {link_type}, expected 1 (Ethernet)")
        while record := f.read(16):
            _, _, captured, _ = struct.unpack(endian + "IIII", record)
            yield f.read(captured)


class Guest:
    """One QEMU run of the image, with its console and ports."""

    def __init__(self, qemu, image, kernel, initrd, work, run):
        self.console_path = os.path.join(work, f"console-{run}.sock")
        self.console_log = open(os.path.join(work, f"console-{run}.log"), "wb")
        self.http_port = free_port(socket.SOCK_STREAM)
        self.monitor_port = free_port(socket.SOCK_DGRAM)
        self.sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sink.bind(("127.0.0.1", 0))
        self.sink.setblocking(False)
        command = qemu + [
            "-M", "virt", "-cpu", "cortex-a53", "-m", "512", "-smp", "2",
            "-display", "none", "-no-reboot",
            "-kernel", kernel, "-initrd", initrd,
            "-append", "console=ttyAMA0 rdinit=/init panic=10 trailwatch.console=shell",
            "-drive", f"file={image},if=none,format=raw,id=hd0",
            "-device", "virtio-blk-device,drive=hd0",
            "-chardev", f"socket,id=con,path={self.console_path},server=on,wait=on",
            "-serial", "chardev:con",
            "-netdev", "user,id=mgmt,restrict=on,"
            f"hostfwd=tcp:127.0.0.1:{self.http_port}-:8338",
            "-device", f"virtio-net-device,netdev=mgmt,mac={MANAGEMENT_MAC}",
            "-netdev", f"socket,id=mon,udp=127.0.0.1:{self.sink.getsockname()[1]},"
            f"localaddr=127.0.0.1:{self.monitor_port}",
            "-device", f"virtio-net-device,netdev=mon,mac={MONITOR_MAC}",
            "-nic", "none",
        ]
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        # A failed check raises SystemExit: never leave the guest running.
        atexit.register(self.process.kill)
        self.console = self._connect_console()
        self.buffer = b""

    def _connect_console(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                console.connect(self.console_path)
                return console
            except OSError:
                time.sleep(0.1)
        raise SystemExit("QEMU did not open its console socket within 30 s")

    def read_until(self, marker, timeout):
        deadline = time.monotonic() + timeout
        while marker not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.process.poll() is not None:
                raise SystemExit(f"console: no {marker!r} within {timeout} s; "
                                 f"see {self.console_log.name}")
            self.console.settimeout(min(remaining, 1.0))
            try:
                data = self.console.recv(65536)
            except socket.timeout:
                continue
            self.console_log.write(data)
            self.console_log.flush()
            self.buffer += data
        before, _, self.buffer = self.buffer.partition(marker)
        return before

    def run(self, command, timeout=60):
        """Runs a shell command on the console; returns (exit status, output)."""
        token = f"{time.monotonic_ns():x}"
        self.console.sendall(f"echo B{token}; {command}; echo E{token} $?\n".encode())
        self.read_until(f"B{token}\r\n".encode(), timeout)
        output = self.read_until(f"E{token} ".encode(), timeout).decode(errors="replace")
        status = int(self.read_until(b"\n", timeout).strip())
        return status, output.replace("\r", "")

    def wait_for(self, description, check, timeout=DEADLINE_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return time.monotonic() - self.started
            time.sleep(1)
        raise SystemExit(f"timed out after {timeout} s waiting for {description}; "
                         f"see {self.console_log.name}")

    def http_get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}",
                                        timeout=5) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")
        except OSError:
            return None, ""

    def post_form(self, path, fields):
        """POSTs an urlencoded form; returns (status, body), or (None, error text)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=60)
        try:
            connection.request("POST", path, urllib.parse.urlencode(fields),
                               {"Content-Type": "application/x-www-form-urlencoded"})
            response = connection.getresponse()
            return response.status, response.read().decode(errors="replace")
        except OSError as error:
            return None, str(error)
        finally:
            connection.close()

    def console_text(self):
        """Returns the console output of this run so far."""
        with open(self.console_log.name, "rb") as f:
            return f.read().decode(errors="replace")

    def login(self, user, password):
        """Logs in to the viewer; returns the session cookie, or None when login fails."""
        connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
        try:
            form = urllib.parse.urlencode({"username": user, "password": password})
            connection.request("POST", "/login", form,
                               {"Content-Type": "application/x-www-form-urlencoded"})
            response = connection.getresponse()
            response.read()
            cookie = response.getheader("Set-Cookie")
            if response.status != 303 or not cookie:
                log(f"login as {user}: HTTP {response.status}")
                return None
            return cookie.split(";", 1)[0]
        except OSError as error:
            log(f"login as {user}: {error}")
            return None
        finally:
            connection.close()

    def viewer_events(self, cookie, date):
        """Returns the total of GET /api/events for one date, or None when the request fails.

        For a day it has not counted yet, the viewer serves the default view from the end of
        the file with a null total while a background thread indexes the day, so a null total
        is requested again every second for up to 60 s."""
        deadline = time.monotonic() + 60
        while True:
            connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
            try:
                connection.request("GET", f"/api/events?from={date}&to={date}&limit=5",
                                   headers={"Cookie": cookie})
                response = connection.getresponse()
                body = response.read()
                if response.status != 200:
                    log(f"/api/events: HTTP {response.status}: {body[:200]!r}")
                    return None
                total = json.loads(body)["total"]
            except (OSError, ValueError, KeyError) as error:
                log(f"/api/events: {error}")
                return None
            finally:
                connection.close()
            if total is not None:
                return total
            if time.monotonic() > deadline:
                log("/api/events: the total stayed null for 60 s")
                return None
            time.sleep(1)

    def frames_sent_by_guest(self):
        count = 0
        while True:
            try:
                self.sink.recv(65536)
                count += 1
            except BlockingIOError:
                return count

    def poweroff(self, timeout=90):
        """Powers the guest off from its shell; returns the whole console output of this run."""
        self.console.sendall(b"poweroff\n")
        # Keep reading the console, so the guest's serial port never blocks on a full socket.
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.process.kill()
                raise SystemExit(f"guest did not power off within {timeout} s; "
                                 f"see {self.console_log.name}")
            self.console.settimeout(1.0)
            try:
                data = self.console.recv(65536)
            except socket.timeout:
                continue
            if not data:
                self.process.wait(timeout=max(deadline - time.monotonic(), 1))
                break
            self.console_log.write(data)
        self.console_log.close()
        with open(self.console_log.name, "rb") as f:
            return f.read().decode(errors="replace")


def service_running(guest, name):
    status, output = guest.run(f"sv status /run/service/{name}")
    return status == 0 and output.startswith("run:")


def service_identity(guest, name):
    """Returns (real uid, effective capability mask) of the running service `name`."""
    status, output = guest.run(f"sv status /run/service/{name}")
    match = re.search(r"\(pid (\d+)\)", output)
    if status != 0 or match is None:
        raise SystemExit(f"FAILED: no pid for {name} in: {output.strip()}")
    status, output = guest.run(f"grep -E '^(Uid|CapEff):' /proc/{match.group(1)}/status")
    fields = dict(line.split(":", 1) for line in output.strip().splitlines())
    return int(fields["Uid"].split()[0]), int(fields["CapEff"].strip(), 16)


def interface_with_mac(guest, mac):
    status, output = guest.run(
        f"grep -l '^{mac}$' /sys/class/net/*/address | cut -d/ -f5")
    name = output.strip()
    if status != 0 or not name:
        raise SystemExit(f"FAILED: no guest interface has MAC address {mac}")
    return name


def guest_reaches_host(guest):
    """Returns whether the guest can open a TCP connection to a listener of the test on the
    host's 127.0.0.1, through 10.0.2.2, the address QEMU's user network gives the host. With
    restrict=on it must not."""
    accepted = []
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(15)
        port = listener.getsockname()[1]

        # Accept and close at once, so that nc in the guest sees the end of the stream and exits.
        def accept():
            try:
                connection, _ = listener.accept()
                connection.close()
                accepted.append(True)
            except OSError:
                pass

        thread = threading.Thread(target=accept)
        thread.start()
        # busybox nc, because this busybox's wget crashes (SIGSEGV) even on an IP address.
        status, _ = guest.run(f"nc -w 5 10.0.2.2 {port} </dev/null 2>/dev/null")
        thread.join()
    return bool(accepted) or status == 0


def event_date(guest):
    """Returns the date of the newest daily log in /data/events, or None when there is none."""
    status, output = guest.run("ls /data/events | grep -x '....-..-..\\.log' | tail -n 1")
    name = output.strip()
    return name[:-len(".log")] if status == 0 and name else None


def set_up_admin(guest, password):
    """Checks that the viewer serves no data before an admin exists, then creates one with the
    setup code of the console on /setup. Returns the admin's session cookie and the number of
    checks passed."""
    match = re.search(r"setup code ([0-9a-f]{16})", guest.console_text())
    check(match is not None, "first boot prints a one-time setup code on the console")
    code = match.group(1)
    status, output = guest.run("cat /boot/trailwatch-setup-code.txt")
    check(status == 0 and code in output,
          "the same code is in trailwatch-setup-code.txt on the boot partition")
    status, _ = guest.run("grep -q . /data/viewer/users.toml 2>/dev/null")
    check(status != 0, "no viewer user exists before setup (no default password)")

    status, body = guest.post_form("/login", {"username": "admin", "password": "admin"})
    check(status == 503 and "/setup" in body, f"login before setup gets HTTP {status}: {body}")
    status, _ = guest.http_get("/api/events")
    check(status == 401, f"/api/events without a session gets HTTP {status}")
    status, body = guest.post_form("/setup", {"code": "0" * 16, "username": "admin",
                                              "password": password, "repeat": password})
    check(status == 401, f"/setup with a wrong code gets HTTP {status}")
    status, body = guest.post_form("/setup", {"code": code, "username": "admin",
                                              "password": password, "repeat": password})
    check(status == 303, f"/setup with the console's code creates admin (HTTP {status} {body})")
    status, _ = guest.post_form("/setup", {"code": code, "username": "second",
                                           "password": password, "repeat": password})
    check(status == 409, f"the code does not work a second time (HTTP {status})")
    status, _ = guest.run("test -e /data/viewer/setup-code")
    check(status != 0, "the viewer deleted the used code from /data")

    cookie = guest.login("admin", password)
    check(cookie is not None, "admin logs in with the password set on /setup")
    check(guest.login("admin", password + "x") is None, "the viewer rejects a wrong password")
    return cookie, 11


def check(condition, message):
    if not condition:
        raise SystemExit(f"FAILED: {message}")
    log(f"ok: {message}")


def main():
    qemu_dir, image, kernel, initrd, capture, work = sys.argv[1:7]
    qemu = [os.path.join(qemu_dir, "usr/bin/qemu-system-aarch64"),
            "-L", os.path.join(qemu_dir, "usr/share/qemu")]
    passed = 0

    guest = Guest(qemu, image, kernel, initrd, work, 1)
    guest.read_until(b"# ", DEADLINE_S)
    shell_s = time.monotonic() - guest.started
    log(f"shell on the console after {shell_s:.1f} s")

    status, standins = guest.run("cat /usr/share/trailwatch/STANDINS")
    real_sensor = "trailwatch-sensor" not in standins.split()
    status, _ = guest.run("test -x /usr/bin/trailwatch-viewer")
    real_viewer = status == 0
    log(f"sensor: {'real' if real_sensor else 'STAND-IN'}, "
        f"viewer: {'real' if real_viewer else 'STAND-IN (busybox httpd)'}")

    ping = "/ping" if real_viewer else "/cgi-bin/ping"
    viewer_s = guest.wait_for("the viewer on the forwarded port",
                              lambda: guest.http_get(ping)[0] == 200)
    check(True, f"viewer answers on 127.0.0.1:{guest.http_port}{ping} {viewer_s:.1f} s after start")
    passed += 1

    # uids of rootfs-overlay/etc/passwd, and the line each program's --check prints on success.
    services = {
        "trailwatch-sensor": (100, r" ok$"),
        "trailwatch-viewer": (101, r"on /setup with the code"),
    }
    # The sensor's --check compiles the whole trail set, which takes about 30 s under emulation.
    for name, (expected_uid, check_line) in services.items():
        def check_logged():
            status, log_text = guest.run(f"cat /data/log/{name}/current 2>/dev/null")
            return re.search(check_line, log_text, re.MULTILINE) is not None

        guest.wait_for(f"{name} --check to pass (/{check_line}/ in its log)", check_logged, 180)
        check(True, f"{name} --check passed (/{check_line}/ in /data/log/{name}/current)")
        guest.wait_for(f"{name} to run as uid {expected_uid}",
                       lambda: service_running(guest, name)
                       and service_identity(guest, name)[0] == expected_uid, 60)
        check(True, f"{name} runs under runsv as uid {expected_uid}")
        uid, capabilities = service_identity(guest, name)
        check(capabilities == 0, f"{name} has effective capabilities {capabilities:#x}")
        passed += 3
    status, _ = guest.run("test -e /run/service/trailwatch-trails/down")
    check(status == 0, "trail updates are off as trailwatch.txt sets")
    passed += 1

    status, output = guest.run("touch /written-by-test 2>&1")
    check(status != 0 and "Read-only" in output, "writing to / fails (read-only file system)")
    passed += 1
    status, output = guest.run("grep ' /data ' /proc/mounts")
    check(status == 0 and " ext4 rw" in output, "/data is a writable ext4 mount")
    passed += 1

    management = interface_with_mac(guest, MANAGEMENT_MAC)
    monitor = interface_with_mac(guest, MONITOR_MAC)
    log(f"management interface {management}, monitor interface {monitor}")
    status, output = guest.run(f"cat /sys/class/net/{monitor}/flags; "
                               f"ip -o addr show dev {monitor}")
    flags = int(output.split()[0], 16)
    check(flags & 0x100 != 0, f"monitor interface {monitor} is promiscuous")
    check(" inet" not in output, f"monitor interface {monitor} has no address")
    passed += 2
    status, output = guest.run(f"ip -4 -o addr show dev {management}")
    check(" inet " in output, f"management interface {management} has a DHCP address")
    passed += 1

    password = secrets.token_urlsafe(12)
    cookie = None
    if real_viewer:
        cookie, checks = set_up_admin(guest, password)
        passed += checks

    events_before = 0
    if real_sensor:
        guest.wait_for("the sensor to capture", lambda: guest.run(
            f"grep -q 'capturing on {monitor}' /data/log/trailwatch-sensor/current")[0] == 0,
            180)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        frames = 0
        for frame in pcap_frames(capture):
            sender.sendto(frame, ("127.0.0.1", guest.monitor_port))
            frames += 1
            time.sleep(0.002)
        log(f"replayed {frames} frames of {capture} onto {monitor}")

        def count_events():
            status, output = guest.run("cat /data/events/*.log 2>/dev/null | wc -l")
            return int(output.strip() or 0) if status == 0 else 0

        guest.wait_for("events in /data/events", lambda: count_events() > 0, 120)
        events_before = count_events()
        check(events_before > 0, f"{events_before} event lines in /data/events")
        passed += 1
        date = event_date(guest)
        if real_viewer:
            guest.wait_for("the events in /api/events",
                           lambda: (guest.viewer_events(cookie, date) or 0) > 0, 60)
            total = guest.viewer_events(cookie, date)
            check(total == events_before,
                  f"/api/events?from={date} returns {total} events, as many as /data/events has")
            passed += 1
        else:
            status, body = guest.http_get("/cgi-bin/events")
            check(status == 200 and body.count("\n") > 0, "events visible through the viewer")
            passed += 1
    else:
        log("skipped: events from replayed traffic (stand-in sensor captures nothing)")

    sent = guest.frames_sent_by_guest()
    check(sent == 0, f"the guest sent {sent} frames on the monitor interface")
    passed += 1
    check(not guest_reaches_host(guest),
          "restrict=on: the guest cannot connect to a socket on the host's 127.0.0.1")
    passed += 1

    # The second boot takes its admin from a password hash file, as a user would place it on
    # the boot partition before first boot. The hash comes from the image's own viewer.
    hash_password = secrets.token_urlsafe(12)
    if real_viewer:
        status, output = guest.run(f"echo '{hash_password}' | trailwatch-viewer user hash")
        password_hash = output.strip()
        check(status == 0 and password_hash.startswith("$argon2id$"),
              "trailwatch-viewer user hash prints an argon2id hash")
        passed += 1
        status, _ = guest.run("rm /data/viewer/users.toml")
        check(status == 0, "users.toml removed, so the next boot needs a first admin again")
        passed += 1

    console = guest.poweroff()
    check("/data unmounted" in console, "poweroff stops the services and unmounts /data")
    passed += 1
    if real_viewer:
        hash_file = os.path.join(work, "admin-password-hash")
        with open(hash_file, "w") as f:
            f.write(password_hash + "\n")
        subprocess.run(["mcopy", "-o", "-i", f"{image}@@1M", hash_file, "::admin-password-hash"],
                       check=True)

    guest = Guest(qemu, image, kernel, initrd, work, 2)
    guest.read_until(b"# ", DEADLINE_S)
    status, output = guest.run("cat /data/events/*.log 2>/dev/null | wc -l")
    after = int(output.strip() or 0)
    check(after >= events_before, f"{after} event lines after the reboot (before: {events_before})")
    passed += 1
    if real_viewer and real_sensor:
        ping = "/ping"
        guest.wait_for("the viewer after the reboot", lambda: guest.http_get(ping)[0] == 200)
        status, _ = guest.run("test -e /boot/admin-password-hash")
        check(status != 0, "the second boot installed and deleted /boot/admin-password-hash")
        passed += 1
        cookie = guest.login("admin", hash_password)
        check(cookie is not None, "admin logs in with the password of the hash file")
        passed += 1
        check(guest.login("admin", password) is None,
              "the password set on /setup no longer works after users.toml was replaced")
        passed += 1
        status, _ = guest.run("test -e /boot/trailwatch-setup-code.txt")
        check(status != 0, "the setup code file is gone from the boot partition")
        passed += 1
        total = guest.viewer_events(cookie, date)
        check(total is not None and total >= events_before,
              f"/api/events returns {total} events after the reboot (before: {events_before})")
        passed += 1
    console = guest.poweroff()
    check("first boot" not in console, "the second boot keeps the existing /data")
    passed += 1

    print(f"boot to viewer answering: {viewer_s:.1f} s (software emulation)")
    print(f"{passed} passed, 0 failed")


if __name__ == "__main__":
    main()
