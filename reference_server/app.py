# SPDX-License-Identifier: Apache-2.0
"""The composition root: builds every store, service and handler, and nothing else does."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import api

from . import errors
from .appservices.calls import AppServiceCalls, AppServiceQueries
from .appservices.identity import AppServiceIdentity
from .appservices.pusher import AppServicePusher
from .appservices.registration import RegistrationError, load_registrations
from .appservices.registry import AppServiceRegistry
from .config import Config
from .handlers.client.account import AccountHandlers
from .handlers.client.appservice import AppServiceHandlers
from .handlers.client.presence import PresenceHandlers
from .handlers.client.third_party import ThirdPartyHandlers
from .handlers.client.directory import DirectoryHandlers
from .handlers.client.e2ee import E2eKeyHandlers, ToDeviceHandlers
from .handlers.client.room_upgrades import RoomUpgradeHandlers
from .handlers.client.rooms import RoomHandlers
from .handlers.client.server_info import ServerInfoHandlers
from .handlers.client.spaces import SpaceHandlers
from .handlers.client.key_backup import KeyBackupHandlers
from .handlers.client.openid import OpenIdHandlers
from .handlers.client.media import MediaHandlers
from .handlers.federation.media import FederationMediaHandlers
from .services.media import MediaRepository
from .storage.media import MediaFiles, MediaStore, PendingMediaStore
from .handlers.client.events_by_time import EventByTimeHandlers
from .federation.timestamp_client import RemoteTimestamps
from .services.events_by_time import EventsByTime
from .handlers.federation.openid import FederationOpenIdHandlers
from .services.key_backups import KeyBackups
from .services.openid import OpenIdService
from .storage.key_backups import BackedUpKeyStore, BackupVersionStore
from .storage.openid import OpenIdTokenStore
from .handlers.client.sync import SyncHandlers
from .handlers.client.reporting import ReportHandlers
from .handlers.client.tags import TagHandlers
from .handlers.client.user_directory import UserDirectoryHandlers
from .handlers.client.user_data import AccountDataHandlers, DeviceHandlers, ProfileHandlers
from .federation.client import FederationClient
from .federation.inbound_auth import FederationAuthenticator
from .federation.keyring import KeyRing
from .federation.e2ee_edus import E2eeEdus
from .federation.edus import EduRelay
from .federation.history_client import HistoryClient
from .federation.pdu_checks import PduChecker
from .federation.sender import FederationSender
from .handlers.federation.e2ee import FederationE2eeHandlers
from .handlers.federation.keys import KeyHandlers
from .handlers.federation.membership import FederationMembershipHandlers
from .handlers.federation.queries import FederationQueryHandlers
from .handlers.federation.reads import FederationReadHandlers
from .handlers.federation.spaces import FederationSpaceHandlers
from .handlers.federation.discovery import DiscoveryHandlers
from .federation.hierarchy_client import RemoteHierarchies
from .services.room_summary import RoomSummaries
from .services.space_hierarchy import SpaceHierarchy
from .services.federation_reads import FederationReads
from .handlers.federation.transactions import TransactionHandlers
from .services.federation_membership import FederatedMembership
from .services.federated_invites import FederatedInvites
from .services.joins import JoinService
from .services.remote_events import RemoteEvents
from .services.remote_history import RemoteHistory
from .services.remote_join import RemoteJoiner
from .storage.inbound_transactions import InboundTransactionStore
from .storage.outbox import OutboxStore
from .handlers.unimplemented import SERVED_FAMILIES, UNIMPLEMENTED
from .http.asgi import MatrixApp
from .http.routing import build_route_table
from .keys import load_or_create_signing_key
from .ratelimit import RateLimiter
from .services.accounts import AccountService
from .services.client_events import ClientEventFormatter
from .services.clock import now_ms
from .services.cross_signing import CrossSigning
from .services.device_lists import DeviceLists
from .services.directory import DirectoryService
from .services.e2e_keys import E2eKeys
from .services.e2ee_sync import E2eeSync
from .services.key_queries import KeyQueries
from .services.remote_keys import RemoteKeys
from .services.to_device import ToDeviceMessaging
from .services.ephemeral import AccountDataService, FilterService, ReceiptService
from .services.events import RoomEvents
from .services.membership import MembershipService
from .services.notifier import Notifier
from .services.passwords import Passwords
from .services.presence import PresenceService
from .services.profile import ProfileService
from .services.rooms import RoomCreator
from .services.sync import SyncService
from .services.timeline import RoomReader
from .services.typing import TypingService
from .services.upgrades import RoomUpgrader
from .services.uia import UserInteractiveAuth
from .services.visibility import Visibility
from .services.reports import ReportService
from .services.tags import TagService
from .storage.reports import ReportStore
from .services.user_directory import UserDirectory
from .storage.user_directory import UserDirectoryStore
from .storage.account_data import AccountDataStore, FilterStore
from .storage.accounts import DeviceStore, TokenStore, UserStore
from .storage.database import Database, DatabaseUnavailable, open_database
from .storage.device_lists import DeviceListStore
from .storage.e2e_keys import E2eKeyStore
from .storage.to_device import ToDeviceStore
from .storage.events import EventStore
from .storage.profiles import ProfileStore
from .storage.receipts import ReceiptStore
from .storage.rooms import AliasStore, RoomStore
from .storage.state import StateStore


@dataclass
class Homeserver:
    """What `__main__` needs to run the server: the ASGI app, background tasks, what to close."""

    app: MatrixApp
    db: Database
    background: list[Callable[..., Awaitable[None]]]


# Proposals this server always implements: application service ephemeral events, device
# management and device masquerading.
ALWAYS_ON_MSCS = (2409, 4190, 4326)


def _load_appservices(config: Config) -> list:
    try:
        return load_registrations(config.appservice_registration_files, config.server_name)
    except RegistrationError as error:
        raise SystemExit(f"application service registration refused: {error}") from None


def build_homeserver(config: Config, *, public_base_url: str) -> Homeserver:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        db = open_database(config.database_target)
    except DatabaseUnavailable as error:
        raise SystemExit(f"database: {error}") from None
    key = load_or_create_signing_key(config.data_dir)
    notifier = Notifier()
    server_name = config.server_name

    users, devices, tokens = UserStore(db), DeviceStore(db), TokenStore(db)
    rooms, aliases = RoomStore(db), AliasStore(db)
    events, state = EventStore(db), StateStore(db)
    account_data_store = AccountDataStore(db)

    accounts = AccountService(db=db, users=users, devices=devices, tokens=tokens,
                              server_name=server_name,
                              passwords=Passwords(time_cost=config.password_time_cost,
                                                  memory_kib=config.password_memory_kib))
    appservices = AppServiceRegistry(_load_appservices(config))
    identity = AppServiceIdentity(services=appservices.services, devices=devices,
                                  user_exists=accounts.exists)
    for service in appservices.services:
        users.create(service.sender, None, now_ms=now_ms(), appservice_id=service.id)

    async def authenticate(token: str, query: dict[str, list[str]]):
        service = identity.service_for_token(token)
        if service is not None:
            return identity.requester(service, token, query)
        return await accounts.authenticate(token)
    room_events = RoomEvents(db=db, events=events, state=state, rooms=rooms, notifier=notifier,
                             server_name=server_name, signing_key=key)
    profiles = ProfileService(db=db, store=ProfileStore(db), room_events=room_events,
                              user_exists=accounts.exists)
    membership = MembershipService(db=db, room_events=room_events, aliases=aliases,
                                   profile_of=profiles.member_fields, user_exists=accounts.exists,
                                   is_local=accounts.is_local)
    creator = RoomCreator(db=db, rooms=rooms, aliases=aliases, room_events=room_events,
                          server_name=server_name, profile_of=profiles.member_fields,
                          check_alias=lambda user, alias, service:
                              directory.check_alias_not_reserved(user, alias,
                                                                 appservice_id=service))
    reader = RoomReader(room_events=room_events, formatter=ClientEventFormatter(events),
                        visibility=Visibility(room_events), current_stream=db.current_stream_id)
    typing = TypingService(notifier)
    receipts = ReceiptService(db=db, receipts=ReceiptStore(db), account_data=account_data_store,
                              notifier=notifier)
    account_data = AccountDataService(db=db, store=account_data_store, notifier=notifier)
    filters = FilterService(db=db, store=FilterStore(db))
    def joined_rooms(user_id: str) -> list[str]:
        return [r for r, (m, _, _) in state.rooms_for_user(user_id).items() if m == "join"]

    def shares_room(viewer: str, user_id: str) -> bool:
        rooms_of_viewer = {r for r, (m, _, _) in state.rooms_for_user(viewer).items()
                           if m == "join"}
        return any(r in rooms_of_viewer and m == "join"
                   for r, (m, _, _) in state.rooms_for_user(user_id).items())

    presence = PresenceService(db=db, notifier=notifier, shares_room=shares_room)

    def device_ids(user_id: str) -> list[str]:
        return [d.device_id for d in accounts.devices(user_id)]

    key_store = E2eKeyStore(db)
    device_list_store = DeviceListStore(db)
    device_lists = DeviceLists(db=db, store=device_list_store, state=state, notifier=notifier)
    e2e_keys = E2eKeys(db=db, store=key_store, device_lists=device_lists,
                       display_names=lambda user_id: {d.device_id: d.display_name
                                                      for d in accounts.devices(user_id)})
    cross_signing = CrossSigning(db=db, store=key_store, device_lists=device_lists,
                                 device_ids=device_ids)
    to_device = ToDeviceMessaging(db=db, store=ToDeviceStore(db), notifier=notifier,
                                  device_ids=device_ids, server_name=server_name)
    accounts.on_device_change(e2e_keys.device_changed)
    accounts.on_device_change(to_device.device_changed)
    accounts.on_device_change(lambda user_id, device_id, deleted: device_lists.changed(
        user_id, device_id, deleted=deleted))
    sync = SyncService(db=db, room_events=room_events, reader=reader, typing=typing,
                       receipts=receipts, account_data=account_data, notifier=notifier,
                       stripped_state=membership.stripped_state, presence=presence,
                       e2ee=E2eeSync(keys=e2e_keys, device_lists=device_lists,
                                     to_device=to_device))
    directory = DirectoryService(db=db, aliases=aliases, rooms=rooms, room_events=room_events,
                                 server_name=server_name, appservices=appservices)
    uia = UserInteractiveAuth()
    openid = OpenIdService(db=db, store=OpenIdTokenStore(db), server_name=server_name,
                           clock=now_ms)

    def event_in_room(room_id: str, event_id: str) -> None:
        if events.room_of(event_id) != room_id:
            raise errors.not_found("No such event in this room.")

    federation = FederationClient(
        server_name=server_name, key=key, verify_tls=config.federation_verify_tls,
        ca_file=config.federation_ca_file,
        allow_private_addresses=config.federation_allow_private_addresses)
    media = MediaRepository(store=MediaStore(db), pending=PendingMediaStore(db), files=MediaFiles(config.data_dir / "media"),
                            server_name=server_name, max_upload_bytes=config.max_upload_bytes,
                            federation=federation, clock=now_ms)
    keyring = KeyRing(client=federation, server_name=server_name, own_key=key, clock=now_ms)

    def shares_room_with_a_local_user(user_id: str) -> bool:
        return any(server_name in state.servers_in_room(room_id)
                   for room_id in joined_rooms(user_id))

    remote_keys = RemoteKeys(db=db, store=device_list_store, device_lists=device_lists,
                             client=federation, is_tracked=shares_room_with_a_local_user,
                             is_local=accounts.is_local, joined_members=state.joined_members)
    key_queries = KeyQueries(keys=e2e_keys, cross_signing=cross_signing,
                             is_local=accounts.is_local, user_exists=accounts.exists,
                             remote=remote_keys)
    checker = PduChecker(keyring)

    def is_resident(room_id: str) -> bool:
        """This server takes part in the room: a local member, or the room was made here."""
        if rooms.version(room_id) is None:
            return False
        create = room_events.current_state_event(room_id, "m.room.create")
        return any(accounts.is_local(u) for u in state.joined_members(room_id)) or (
            create is not None and accounts.is_local(create["sender"]))

    joins = JoinService(membership=membership, client=federation, is_resident=is_resident,
                        server_name=server_name,
                        remote=RemoteJoiner(db=db, rooms=rooms, room_events=room_events,
                                            client=federation, checker=checker,
                                            server_name=server_name, signing_key=key,
                                            profile_of=profiles.member_fields))
    federation_reads = FederationReads(room_events=room_events)
    events_by_time = EventsByTime(
        room_events=room_events, check_server_access=federation_reads.check_access,
        remote_lookup=RemoteTimestamps(client=federation, checker=checker,
                                       room_events=room_events, server_name=server_name))
    hierarchy = SpaceHierarchy(
        summaries=RoomSummaries(room_events=room_events, room_chunk=directory.room_chunk,
                                is_resident=is_resident),
        remote_hierarchy=RemoteHierarchies(client=federation, server_name=server_name,
                                           clock=now_ms),
        membership=membership.membership, pending_invite=membership.pending_invite)
    invites = FederatedInvites(db=db, rooms=rooms, room_events=room_events, client=federation,
                               checker=checker, server_name=server_name, signing_key=key,
                               invite_room_state=membership.invite_room_state,
                               check_acl=federation_reads.check_acl, is_resident=is_resident,
                               receive=lambda room_id, pdu: remote.receive(room_id, pdu))
    pusher = AppServicePusher(db=db, registry=appservices, room_members=state.joined_members,
                              room_aliases=aliases.for_room, clock=now_ms,
                              rooms_of=joined_rooms)
    presence.on_change(pusher.presence)
    room_events.push_events_to(pusher)
    room_events.push_events_to(remote_keys)  # forgets device lists it stops being sent
    typing.on_change(lambda room_id, _user, _typing: pusher.typing(
        room_id, typing.typing_users(room_id)))
    receipts.on_receipt(pusher.receipt)
    appservice_calls = AppServiceCalls()
    handlers = [
        AppServiceHandlers(registry=appservices, calls=appservice_calls, directory=directory),
        ThirdPartyHandlers(registry=appservices, calls=appservice_calls),
        PresenceHandlers(presence=presence),
        ServerInfoHandlers(public_base_url=public_base_url,
                           unstable_features={f"org.matrix.msc{n}": True for n in
                                              sorted({*config.enabled_mscs, *ALWAYS_ON_MSCS})}),
        AccountHandlers(accounts=accounts, uia=uia, registration_open=config.registration_open,
                        appservices=appservices),
        ProfileHandlers(profiles=profiles, appservices=appservices, calls=appservice_calls,
                        federation=federation, is_local=accounts.is_local),
        DeviceHandlers(accounts=accounts, uia=uia),
        E2eKeyHandlers(keys=e2e_keys, queries=key_queries, cross_signing=cross_signing,
                       device_lists=device_lists, uia=uia, accounts=accounts),
        ToDeviceHandlers(to_device=to_device),
        AccountDataHandlers(account_data=account_data, filters=filters,
                            room_exists=room_events.version),
        TagHandlers(tags=TagService(account_data=account_data)),
        ReportHandlers(reports=ReportService(
            db=db, store=ReportStore(db), room_exists=lambda r: rooms.version(r) is not None,
            room_of_event=events.room_of, membership=membership.membership,
            user_exists=accounts.exists, clock=now_ms)),
        UserDirectoryHandlers(directory=UserDirectory(
            store=UserDirectoryStore(db), is_local=accounts.is_local,
            profile_of=ProfileStore(db).get)),
        RoomHandlers(creator=creator, membership=membership, room_events=room_events,
                     reader=reader, load_filter=filters.get, joins=joins, invites=invites,
                     is_local=accounts.is_local,
                     appservice_queries=AppServiceQueries(
                         registry=appservices, calls=appservice_calls, is_local=accounts.is_local,
                         user_exists=accounts.exists,
                         alias_exists=lambda alias: aliases.get(alias) is not None)),
        SyncHandlers(sync=sync, typing=typing, receipts=receipts, membership=membership,
                     load_filter=filters.get, event_in_room=event_in_room),
        DirectoryHandlers(directory=directory, appservices=appservices, calls=appservice_calls),
        RoomUpgradeHandlers(upgrader=RoomUpgrader(db=db, room_events=room_events,
                                                  creator=creator, aliases=aliases)),
        SpaceHandlers(hierarchy=hierarchy),
        OpenIdHandlers(openid=openid),
        KeyBackupHandlers(backups=KeyBackups(db=db, versions=BackupVersionStore(db),
                                             keys=BackedUpKeyStore(db))),
        EventByTimeHandlers(events_by_time=events_by_time),
        MediaHandlers(media=media),
    ]
    sender = FederationSender(db=db, outbox=OutboxStore(db), client=federation,
                              server_name=server_name, clock=now_ms)
    room_events.send_new_events_with(sender)
    edus = EduRelay(sender=sender, servers_in_room=state.servers_in_room,
                    rooms_of=joined_rooms, server_name=server_name)
    presence.on_change(edus.presence)
    typing.on_change(edus.typing)
    receipts.on_receipt(edus.receipt)
    e2ee_edus = E2eeEdus(sender=sender, server_name=server_name,
                         rooms_of=joined_rooms, servers_in_room=state.servers_in_room,
                         device_keys=lambda user_id, device_id: e2e_keys.device_keys(
                             user_id, [device_id]).get(device_id),
                         cross_signing_keys=lambda user_id: cross_signing.keys_for(user_id, None))
    device_lists.on_change(e2ee_edus.device_changed)
    cross_signing.on_update(e2ee_edus.signing_keys_changed)
    to_device.send_remote_with(e2ee_edus.direct_to_device)
    remote = RemoteEvents(room_events=room_events, checker=checker,
                          history=RemoteHistory(room_events=room_events, checker=checker,
                                                client=HistoryClient(federation)))

    def is_member_room(room_id: str) -> bool:
        return rooms.version(room_id) is not None

    def acl_allows(origin: str, room_id: str) -> bool:
        try:
            federation_reads.check_acl(origin, room_id)
        except errors.MatrixError:
            return False
        return True

    federation_handlers = [
        KeyHandlers(server_name=server_name, key=key, keyring=keyring),
        FederationMembershipHandlers(membership=FederatedMembership(
            room_events=room_events, remote=remote, server_name=server_name, signing_key=key,
            check_acl=federation_reads.check_acl, auth_chain=federation_reads.auth_chain),
            invites=invites, room_state=membership.invite_room_state),
        TransactionHandlers(remote=remote, typing=typing, receipts=receipts, presence=presence,
                            transactions=InboundTransactionStore(db), clock=now_ms,
                            is_member_room=is_member_room, acl_allows=acl_allows,
                            edu_handlers={"m.direct_to_device": to_device.receive,
                                          "m.device_list_update": remote_keys.device_list_update,
                                          "m.signing_key_update": remote_keys.signing_key_update}),
        FederationE2eeHandlers(keys=e2e_keys, queries=key_queries, cross_signing=cross_signing,
                               device_lists=device_lists, is_local=accounts.is_local),
        FederationReadHandlers(reads=federation_reads, events_by_time=events_by_time,
                               server_name=server_name),
        FederationQueryHandlers(profiles=profiles, directory=directory, server_name=server_name),
        FederationSpaceHandlers(hierarchy=hierarchy),
        FederationOpenIdHandlers(openid=openid),
        DiscoveryHandlers(delegated_to=config.federation_well_known_server),
        FederationMediaHandlers(media=media),
    ]
    operations = [op for op in api.load_operations() if op.family in SERVED_FAMILIES]
    routes = build_route_table(operations, {"client-server": handlers,
                                            "server-server": federation_handlers},
                               unimplemented=UNIMPLEMENTED,
                               enabled_mscs=config.enabled_mscs)
    limiter = RateLimiter(enabled=config.rate_limits_enabled,
                          exempt=lambda who: appservices.exempt_from_rate_limits(
                              who.user_id, who.appservice_id))
    app = MatrixApp(routes, authenticate=authenticate, rate_limit=limiter,
                    authenticate_server=FederationAuthenticator(keyring=keyring,
                                                                server_name=server_name),
                    max_upload_bytes=config.max_upload_bytes)
    return Homeserver(app=app, db=db, background=[sender.run, pusher.run])
