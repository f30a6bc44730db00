"""A small convenience layer over the generated gRPC stubs (nextbest.v1).

Everything the stubs can do stays available (``Client.stubs``); this layer
only spares the common calls their boilerplate: ids and keywords in,
protobuf messages out, errors as :class:`NextbestError` carrying the gRPC
status code and the server's message (which names the field at fault).
"""
from __future__ import annotations

import datetime as _dt
import itertools
import uuid
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional, Sequence, Tuple, Union

import grpc
from google.protobuf import timestamp_pb2

from nextbest.v1 import admin_pb2, admin_pb2_grpc
from nextbest.v1 import catalog_pb2, catalog_pb2_grpc
from nextbest.v1 import common_pb2
from nextbest.v1 import customers_pb2, customers_pb2_grpc
from nextbest.v1 import decisions_pb2, decisions_pb2_grpc
from nextbest.v1 import events_pb2, events_pb2_grpc
from nextbest.v1 import insight_pb2, insight_pb2_grpc

Time = Union[_dt.datetime, float, int, None]

_CHANNELS = {"web": common_pb2.CHANNEL_WEB, "app": common_pb2.CHANNEL_APP,
             "store": common_pb2.CHANNEL_STORE, "email": common_pb2.CHANNEL_EMAIL,
             "call_center": common_pb2.CHANNEL_CALL_CENTER}


class NextbestError(Exception):
    """A call the server refused: ``code`` is the grpc.StatusCode."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message


def _timestamp(t: Time) -> Optional[timestamp_pb2.Timestamp]:
    if t is None:
        return None
    ts = timestamp_pb2.Timestamp()
    if isinstance(t, _dt.datetime):
        if t.tzinfo is None:
            raise ValueError("time: give an aware datetime (with tzinfo), not a naive one")
        ts.FromDatetime(t.astimezone(_dt.timezone.utc).replace(tzinfo=None))
    else:
        ts.FromNanoseconds(int(float(t) * 1e9))
    return ts


def _channel(name: str) -> int:
    try:
        return _CHANNELS[name]
    except KeyError:
        raise ValueError(f"channel: one of {sorted(_CHANNELS)}, got {name!r}") from None


def _event_type(name: str) -> int:
    value = "EVENT_TYPE_" + name.upper()
    if value not in events_pb2.EventType.keys():
        known = [k[len("EVENT_TYPE_"):].lower() for k in events_pb2.EventType.keys()][1:]
        raise ValueError(f"type: one of {known}, got {name!r}")
    return events_pb2.EventType.Value(value)


@dataclass
class OrderLine:
    product_id: str
    quantity: int
    unit_price_minor: int
    currency: str = "EUR"


class Client:
    """A connection to one nextbest-server (or a proxy in front of many).

    >>> with Client("127.0.0.1:50051", token="...") as nb:
    ...     nb.recommend("c1", "homepage.speciaal_voor_jou", count=5)
    """

    def __init__(self, target: str = "127.0.0.1:50051", token: Optional[str] = None,
                 timeout: float = 30.0, credentials: Optional[grpc.ChannelCredentials] = None):
        self._channel = (grpc.secure_channel(target, credentials) if credentials
                         else grpc.insecure_channel(target))
        self._metadata: Tuple[Tuple[str, str], ...] = (
            (("authorization", "Bearer " + token),) if token else ())
        self._timeout = timeout

        class Stubs:  # the generated stubs, for everything else
            decisions = decisions_pb2_grpc.DecisionServiceStub(self._channel)
            events = events_pb2_grpc.EventServiceStub(self._channel)
            customers = customers_pb2_grpc.CustomerServiceStub(self._channel)
            catalog = catalog_pb2_grpc.CatalogServiceStub(self._channel)
            admin = admin_pb2_grpc.AdminServiceStub(self._channel)
            insight = insight_pb2_grpc.InsightServiceStub(self._channel)
        self.stubs = Stubs

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, method, request, **kwargs):
        try:
            return method(request, timeout=self._timeout, metadata=self._metadata, **kwargs)
        except grpc.RpcError as e:  # a refused call: code and the server's message
            raise NextbestError(e.code(), e.details()) from None

    # -- decisions --------------------------------------------------------------
    def recommend(self, customer: str, placement: str, *, count: int = 0, country: str = "",
                  store: str = "", product: str = "", cart: Sequence[str] = (),
                  exclude: Sequence[str] = (), channel: str = "web", time: Time = None,
                  explain: bool = False, request_id: str = "",
                  preview: bool = False) -> decisions_pb2.RecommendResponse:
        """What `placement` shows `customer` ("" for an anonymous visitor)."""
        ctx = decisions_pb2.RecommendContext(
            placement=placement, channel=_channel(channel), country=country, store_id=store,
            product_id=product, cart_product_ids=list(cart), exclude_product_ids=list(exclude),
            count=count)
        if time is not None:
            ctx.time.CopyFrom(_timestamp(time))
        request = decisions_pb2.RecommendRequest(customer_id=customer, context=ctx,
                                                 explain=explain, request_id=request_id,
                                                 preview=preview)
        return self._call(self.stubs.decisions.Recommend, request)

    # -- events -----------------------------------------------------------------
    def event(self, customer: str, type: str, *, product: str = "", time: Time = None,
              channel: str = "web", store: str = "", country: str = "", quantity: int = 0,
              order_id: str = "", lines: Sequence[OrderLine] = (), offer: str = "",
              placement: str = "", decision_id: str = "",
              event_id: Optional[str] = None) -> events_pb2.Event:
        """Builds one event (validated by the server when sent)."""
        e = events_pb2.Event(
            event_id=event_id or uuid.uuid4().hex, customer_id=customer, type=_event_type(type),
            channel=_channel(channel), store_id=store, country=country, product_id=product,
            quantity=quantity, offer_id=offer, placement=placement, decision_id=decision_id)
        e.time.CopyFrom(_timestamp(time if time is not None else _dt.datetime.now(_dt.timezone.utc)))
        if lines:
            e.order.order_id = order_id or e.event_id
            for line in lines:
                e.order.lines.add(product_id=line.product_id, quantity=line.quantity,
                                  unit_price=common_pb2.Money(amount_minor=line.unit_price_minor,
                                                              currency=line.currency))
        return e

    def track(self, customer: str, type: str, **fields) -> events_pb2.RecordEventsResponse:
        """Records one event now; keywords as for :meth:`event`."""
        request = events_pb2.RecordEventsRequest(events=[self.event(customer, type, **fields)])
        return self._call(self.stubs.events.RecordEvents, request)

    def import_events(self, events: Iterable[events_pb2.Event],
                      chunk: int = 500) -> events_pb2.StreamEventsResponse:
        """Streams any number of events (StreamEvents), `chunk` per message."""
        def chunks() -> Iterator[events_pb2.StreamEventsRequest]:
            it = iter(events)
            while True:
                batch = list(itertools.islice(it, chunk))
                if not batch:
                    return
                yield events_pb2.StreamEventsRequest(events=batch)
        try:
            return self.stubs.events.StreamEvents(chunks(), timeout=None, metadata=self._metadata)
        except grpc.RpcError as e:
            raise NextbestError(e.code(), e.details()) from None

    # -- customers, catalog, admin ------------------------------------------------
    def profile(self, customer: str) -> customers_pb2.GetProfileResponse:
        return self._call(self.stubs.customers.GetProfile,
                          customers_pb2.GetProfileRequest(customer_id=customer))

    def upsert_customers(self, customers: Sequence[customers_pb2.Customer]) -> int:
        request = customers_pb2.UpsertCustomersRequest(customers=list(customers))
        return self._call(self.stubs.customers.UpsertCustomers, request).upserted

    def upsert_products(self, products: Sequence[catalog_pb2.Product]) -> int:
        request = catalog_pb2.UpsertProductsRequest(products=list(products))
        return self._call(self.stubs.catalog.UpsertProducts, request).upserted

    def segments(self) -> admin_pb2.ListSegmentsResponse:
        return self._call(self.stubs.admin.ListSegments, admin_pb2.ListSegmentsRequest())

    def rebuild_models(self) -> admin_pb2.RebuildModelsResponse:
        return self._call(self.stubs.admin.RebuildModels, admin_pb2.RebuildModelsRequest())

    def config(self) -> insight_pb2.DescribeConfigResponse:
        return self._call(self.stubs.insight.DescribeConfig, insight_pb2.DescribeConfigRequest())

    def status(self) -> insight_pb2.GetStatusResponse:
        return self._call(self.stubs.insight.GetStatus, insight_pb2.GetStatusRequest())
