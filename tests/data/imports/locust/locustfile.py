from locust import FastHttpUser, constant, task


class Visitor(FastHttpUser):
    wait_time = constant(0.01)

    @task(5)
    def fast(self) -> None:
        self.client.get("/fast")

    @task(1)
    def missing(self) -> None:
        self.client.get("/no-such-page", name="missing")
