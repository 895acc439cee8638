"""The network explorer: an indexer of JobMarket and Staking events into SQL, a REST API and a dashboard."""
